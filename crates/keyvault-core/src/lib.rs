//! Shared runtime for the keyvault-rs clients.
//!
//! Users rarely name this crate directly: the client crates (`keyvault-secrets`,
//! `keyvault-administration`) re-export the options and error types they need.
//!
//! What every Key Vault client shares lives here, once:
//!
//! - [`http`]: the [`Request`](http::Request) and [`Response`](http::Response)
//!   that generated operation code builds and decodes, and [`base64url`] for
//!   the bytes fields of generated models;
//! - [`Pipeline`]: URL policy, common headers, Key Vault challenge
//!   authentication over any `azure_core` `TokenCredential`, retries with a
//!   time budget, one tracing span per operation;
//! - [`Error`]: one error type with [`ErrorKind`], status, service error code
//!   and request id;
//! - [`paging`]: lazy item and page streams over `{value, nextLink}` pages,
//!   mapped to client models by [`ItemPager`];
//! - [`poller`]: long-running operations, `.await`-able, bounded, watchable
//!   and resumable;
//! - [`client`]: [`ClientCore`](client::ClientCore), what every client holds
//!   and sends through, and [`client_methods!`] for the methods every client
//!   shares;
//! - [`api_version`]: what each client crate's `ApiVersion` enum is made of
//!   ([`api_version_enum!`]), with its default, its order and version gates;
//! - [`DefaultAzureCredential`]: our own chain of `azure_identity`
//!   credentials (environment, workload identity, managed identity, Azure CLI,
//!   Azure Developer CLI);
//! - `blocking` (the `blocking` feature): what the client crates' blocking
//!   clients are made of: a runtime per client, listings as iterators,
//!   pollers whose waits block;
//! - [`ClientOptions`] and [`RetryOptions`]; [`SendRequestOptions`] for
//!   requests written by hand ([`Pipeline::send_request`]).
//!
//! Secret values ([`SecretValue`]: zeroized on drop, `<redacted>` in `Debug`)
//! and tokens never appear in logs, `Debug` output or errors.

pub mod api_version;
pub mod base64url;
#[cfg(feature = "blocking")]
pub mod blocking;
mod challenge;
pub mod client;
mod credential;
mod default_credential;
pub mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
mod identity;
mod options;
pub mod paging;
mod pipeline;
pub mod poller;
mod random;
mod retry;
mod secret;
mod setters;
mod transport;

pub use azure_core::credentials::TokenCredential;
pub use default_credential::{
    CredentialKind, DefaultAzureCredential, DefaultAzureCredentialOptions, ManagedIdentityId,
};
pub use error::{Error, ErrorKind, Result, ServiceError};
pub use identity::credential_transport;
pub use options::{
    ClientOptions, ProxyOptions, RequestOptions, RetryMode, RetryOptions, SendRequestOptions,
};
pub use paging::{ItemPager, Page, PageStream, Paged, Pager};
pub use pipeline::{ClientInfo, Context, Pipeline};
pub use poller::{PollStatus, Poller};
pub use secret::SecretValue;
#[cfg(feature = "serde")]
pub use secret::{ExposeSecrets, serde_secret_value};

/// This crate's version (`CARGO_PKG_VERSION`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
