//! Shared runtime for the keyvault-rs clients.
//!
//! Users rarely name this crate directly: the client crates (`keyvault-secrets`,
//! `keyvault-administration`) re-export the options and error types they need.
//!
//! The crate holds what every Key Vault client shares: the request and response
//! types ([`http`]) and the error type ([`Error`]).

pub mod error;
pub mod http;
pub mod paging;

pub use error::{Error, ErrorKind, Result};
