//! Integration tests: each starts an emulator in-process on ephemeral ports
//! and drives it over HTTPS with a plain HTTP client that trusts its CA.

mod at_rest;
mod auth;
mod clock;
mod common;
mod crash;
mod errors;
mod faults;
mod hostile_input;
mod hsm;
mod hsm_backup;
mod hsm_rbac;
mod identity;
mod load;
mod logging;
mod modules;
mod named;
mod paging;
mod perms;
mod persistence;
mod proxy;
mod secrets;
mod seed;
mod storage;
mod tls;

use keyvault_testing::{azurite, sas};
