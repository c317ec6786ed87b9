//! Integration tests: each starts an emulator in-process on ephemeral ports
//! and drives it over HTTPS with a plain HTTP client that trusts its CA.

mod auth;
mod clock;
mod common;
mod errors;
mod logging;
mod paging;
mod persistence;
mod secrets;
mod tls;
