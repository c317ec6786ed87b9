//! Test support shared by the keyvault-rs crates (never published).
//!
//! A dev-dependency of the crates' tests and of the examples' tests, in place
//! of source files included across crates. Each module sits behind a feature
//! of the same purpose, so a crate builds only what its tests use:
//!
//! | Module | Feature | What |
//! |---|---|---|
//! | [`reference`](mod@reference) | always | where the reference data beside the workspace is, and what a test does without it |
//! | `credential` | `credential` | `StaticToken`, a credential with a fixed token |
//! | `tls` | `tls` | a plain HTTP client that trusts one CA (the emulator's) |
//! | `emulator` | `emulator` | the emulator started in-process on ephemeral ports |
//! | `azurite`, `sas` | `azurite` | Azurite's blob service (http, or https with OAuth), account SAS tokens, containers |
//! | `recordings` | `recordings` | recorded service traffic read into one list of calls |
//! | `bindings` | `bindings` | recorded traffic through a crate's generated bindings |
//! | `logs` | `logs` | every tracing event of a scenario, client and emulator, at TRACE |
//! | `replay` | `replay` | one loopback server that answers with recorded traffic |
//!
//! Helpers panic instead of returning errors where a failure means the test
//! cannot run: the panic message is the test's failure.

pub mod reference;

#[cfg(feature = "azurite")]
pub mod azurite;
#[cfg(feature = "bindings")]
pub mod bindings;
#[cfg(feature = "credential")]
pub mod credential;
#[cfg(feature = "emulator")]
pub mod emulator;
#[cfg(feature = "logs")]
pub mod logs;
#[cfg(feature = "recordings")]
pub mod recordings;
#[cfg(feature = "replay")]
pub mod replay;
#[cfg(feature = "azurite")]
pub mod sas;
#[cfg(feature = "soak")]
pub mod soak;
#[cfg(feature = "tls")]
pub mod tls;

#[cfg(feature = "credential")]
pub use credential::StaticToken;

use std::path::PathBuf;

/// The workspace root: the nearest ancestor of this crate that holds the
/// `specs` folder and a `package.json`.
///
/// # Panics
/// When there is none (this crate is only used inside the workspace).
pub fn workspace_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        if dir.join("specs").is_dir() && dir.join("package.json").is_file() {
            return dir;
        }
        if !dir.pop() {
            panic!("no workspace root above {}", env!("CARGO_MANIFEST_DIR"));
        }
    }
}
