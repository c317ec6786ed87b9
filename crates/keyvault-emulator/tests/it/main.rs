//! Integration tests: each starts an emulator in-process on ephemeral ports
//! and drives it over HTTPS with a plain HTTP client that trusts its CA.

mod auth;
mod clock;
mod common;
mod errors;
mod hostile_input;
mod hsm;
mod hsm_backup;
mod hsm_rbac;
mod identity;
mod logging;
mod modules;
mod named;
mod paging;
mod persistence;
mod proxy;
mod secrets;
mod seed;
mod storage;
mod tls;

use keyvault_testing::{azurite, sas};
