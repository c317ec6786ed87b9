//! The emulator's `$filter` parsers and its query-string parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    let _ = keyvault_emulator::fuzzing::assignment_filter(raw);
    if let Some(name) = keyvault_emulator::fuzzing::definition_filter(raw) {
        assert!(name.len() <= raw.len());
    }
    for (k, v) in keyvault_emulator::fuzzing::query(raw) {
        assert!(k.len() + v.len() <= raw.len());
    }
});
