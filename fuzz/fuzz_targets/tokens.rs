//! Continuation tokens (`nextLink`), poller resume tokens and the emulator's
//! `$skiptoken`s: a followed link never leaves the first page's origin.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|token: &str| {
    if let Some(next) = keyvault_core::fuzzing::continuation_token(token) {
        assert!(next.starts_with("https://v.vault.azure.net/"), "{next}");
    }
    let _ = keyvault_core::fuzzing::resume_token(token);
    if let Some(after) = keyvault_emulator::fuzzing::skiptoken(token) {
        assert!(after.len() <= token.len());
    }
});
