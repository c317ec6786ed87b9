//! An import file (`--import`): parsed and imported into a fresh in-memory
//! vault and HSM without panicking.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
});

fuzz_target!(|text: &str| {
    let _entered = RUNTIME.enter();
    let _ = keyvault_emulator::fuzzing::import(text);
});
