//! The HTTP client for `azure_identity`'s credentials: this crate's
//! transport (rustls, the trusted roots of [`ClientOptions`], `SSL_CERT_FILE`,
//! the proxy of `HTTPS_PROXY`) behind `azure_core`'s [`HttpClient`] trait, so
//! that a managed identity or workload identity credential needs no second
//! HTTP stack.

use std::sync::Arc;

use azure_core::http::{
    AsyncRawResponse, Body, HttpClient, Request, Transport,
    headers::{HeaderName, HeaderValue, Headers},
};

use crate::{ClientOptions, Result};

/// An `azure_core` [`Transport`] over this crate's HTTP client, built from
/// `options`, for the `client_options` of an `azure_identity` credential.
///
/// ```no_run
/// # fn demo() -> keyvault_core::Result<()> {
/// let transport = keyvault_core::credential_transport(&keyvault_core::ClientOptions::default())?;
/// let client_options = azure_core::http::ClientOptions {
///     transport: Some(transport),
///     ..Default::default()
/// };
/// # let _ = client_options;
/// # Ok(()) }
/// ```
///
/// # Errors
/// As the clients' constructors: roots that are not valid PEM.
pub fn credential_transport(options: &ClientOptions) -> Result<Transport> {
    let client = crate::transport::build_client(options)?;
    Ok(Transport::new(Arc::new(CredentialClient(client))))
}

#[derive(Debug)]
struct CredentialClient(reqwest::Client);

#[async_trait::async_trait]
impl HttpClient for CredentialClient {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        use azure_core::error::{Error, ErrorKind};
        let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes())
            .map_err(|e| Error::with_error(ErrorKind::Other, e, "unsupported HTTP method"))?;
        let mut builder = self.0.request(method, request.url().as_str());
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let builder = match request.body() {
            Body::Bytes(bytes) => builder.body(bytes.clone()),
            #[allow(unreachable_patterns)]
            _ => {
                return Err(Error::with_message(
                    ErrorKind::Other,
                    "a credential request with a streamed body is not supported",
                ));
            }
        };
        let response = builder.send().await.map_err(|e| {
            let kind = if e.is_connect() {
                ErrorKind::Connection
            } else {
                ErrorKind::Io
            };
            Error::with_error(kind, e, "the credential's request failed")
        })?;
        let status = response.status().as_u16();
        let mut headers = Headers::new();
        for (name, value) in response.headers() {
            if let Ok(value) = value.to_str() {
                headers.insert(
                    HeaderName::from(name.as_str().to_owned()),
                    HeaderValue::from(value.to_owned()),
                );
            }
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::with_error(ErrorKind::Io, e, "reading the credential's answer"))?;
        Ok(AsyncRawResponse::from_bytes(status.into(), headers, body))
    }
}
