//! Integration tests of the administration clients: every operation against
//! the in-process emulator (and Azurite for backups), and request shapes
//! against recorded service traffic.

#![allow(clippy::print_stdout)]

mod access_control;
mod backup;
mod backup_identity;
mod blocking;
mod common;
mod hostile;
mod models;
mod per_call;
mod recorded;
mod security;
mod settings;
mod soak;
mod tracing_spans;

use keyvault_testing::azurite;
