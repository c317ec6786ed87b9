//! A service error body: parsed without panicking, whatever its bytes.
#![no_main]

use keyvault_core::error::ServiceError;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Some(e) = ServiceError::from_body(body) {
        let codes = e.codes();
        assert!(codes.iter().map(|c| c.len()).sum::<usize>() <= body.len());
    }
});
