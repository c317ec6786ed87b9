//! Integration tests of the administration clients: every operation against
//! the in-process emulator (and Azurite for backups), and request shapes
//! against recorded service traffic.

#![allow(clippy::print_stdout)]

mod access_control;
#[path = "../../../keyvault-emulator/tests/support/azurite.rs"]
mod azurite;
mod backup;
mod common;
mod recorded;
#[path = "../../../keyvault-emulator/tests/support/sas.rs"]
mod sas;
mod settings;
mod tracing_spans;
