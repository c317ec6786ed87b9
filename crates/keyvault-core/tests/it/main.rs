//! Integration tests of the keyvault-core runtime against real HTTP and HTTPS
//! servers on loopback.

mod api_version;
mod challenge;
mod client;
mod default_credential;
mod error_chain;
mod errors;
mod hostile_servers;
mod options;
mod paging;
mod poller;
mod raw;
mod redaction;
mod retry;
mod server;
mod tls;
