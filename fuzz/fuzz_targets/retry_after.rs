//! `Retry-After` (seconds or an HTTP date), `retry-after-ms` and
//! `x-ms-retry-after-ms`: the first byte picks the header.
#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 3] = ["retry-after", "retry-after-ms", "x-ms-retry-after-ms"];

fuzz_target!(|data: &[u8]| {
    let Some((pick, value)) = data.split_first() else {
        return;
    };
    let _ = keyvault_core::fuzzing::retry_after(NAMES[usize::from(*pick) % 3], value);
});
