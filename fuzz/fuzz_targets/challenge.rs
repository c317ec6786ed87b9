//! A `WWW-Authenticate` header: parsed without panicking, its scope no longer
//! than the header and a `/.default`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|header: &str| {
    if let Some(scope) = keyvault_core::fuzzing::challenge(header) {
        assert!(!scope.is_empty());
        assert!(scope.len() <= header.len() + "/.default".len());
    }
});
