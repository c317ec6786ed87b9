//! Account SAS tokens for Azurite's development account, and creating a
//! container with one (over http, or https trusting a given CA), for tests
//! and examples that back up to Azurite.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};

/// Azurite's well-known development account.
pub const ACCOUNT: &str = "devstoreaccount1";
/// The well-known key of [`ACCOUNT`] (public, for local emulators only).
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Percent-encodes everything but the unreserved characters of RFC 3986.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An account SAS (blob service; service, container and object resources;
/// valid until 2099) with `permissions` (for example `rwdlac`), signed with
/// the development account's well-known key.
pub fn account_sas(permissions: &str) -> String {
    let (sv, ss, srt, se, spr) = (
        "2019-12-12",
        "b",
        "sco",
        "2099-01-01T00:00:00Z",
        "https,http",
    );
    let to_sign = format!("{ACCOUNT}\n{permissions}\n{ss}\n{srt}\n\n{se}\n\n{spr}\n{sv}\n");
    // Both are constants that cannot fail: the key is valid base64, and HMAC
    // takes a key of any length.
    let key = STANDARD.decode(ACCOUNT_KEY).unwrap_or_default();
    let sig = match Hmac::<sha2::Sha256>::new_from_slice(&key) {
        Ok(mut mac) => {
            mac.update(to_sign.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!(
        "sv={sv}&ss={ss}&srt={srt}&sp={permissions}&se={}&spr={}&sig={}",
        percent_encode(se),
        percent_encode(spr),
        percent_encode(&sig)
    )
}

/// Creates the container at `container_url` (an Azurite `http://` URL such
/// as `http://127.0.0.1:PORT/devstoreaccount1/name`) with `sas`, over plain
/// HTTP/1.1 on loopback.
///
/// # Errors
/// The URL is not an Azurite `http://` container URL, Azurite cannot be
/// reached, or it does not answer `201 Created`.
pub fn create_container(container_url: &str, sas: &str) -> Result<(), String> {
    let (host, path) = split("http://", container_url)?;
    let mut stream = connect(host)?;
    put_container(&mut stream, host, path, sas)
}

/// Creates the container at `container_url` (an Azurite `https://` URL such
/// as `https://127.0.0.1:PORT/devstoreaccount1/name`) with `sas`, over
/// HTTP/1.1 and TLS trusting only the certificates in `ca_pem`.
///
/// # Errors
/// The URL is not an `https://` container URL, `ca_pem` holds no
/// certificate, Azurite cannot be reached or is not trusted, or it does not
/// answer `201 Created`.
pub fn create_container_trusting(
    container_url: &str,
    sas: &str,
    ca_pem: &str,
) -> Result<(), String> {
    let (host, path) = split("https://", container_url)?;
    let mut roots = rustls::RootCertStore::empty();
    let mut reader = ca_pem.as_bytes();
    let certs = rustls_pemfile::certs(&mut reader).filter_map(Result::ok);
    if roots.add_parsable_certificates(certs).0 == 0 {
        return Err("no certificate to trust in the CA PEM".into());
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = host
        .rsplit_once(':')
        .map_or(host, |(name, _)| name)
        .trim_matches(['[', ']']);
    let server_name = rustls::pki_types::ServerName::try_from(name.to_owned())
        .map_err(|e| format!("bad host {name}: {e}"))?;
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), server_name)
        .map_err(|e| format!("TLS connection: {e}"))?;
    let mut stream = rustls::StreamOwned::new(conn, connect(host)?);
    put_container(&mut stream, host, path, sas)
}

/// The `host[:port]` and path of a URL with `scheme`.
fn split<'u>(scheme: &str, url: &'u str) -> Result<(&'u str, &'u str), String> {
    let rest = url
        .strip_prefix(scheme)
        .ok_or_else(|| format!("an Azurite container URL here starts with {scheme}"))?;
    let slash = rest.find('/').ok_or("the container URL has no path")?;
    Ok(rest.split_at(slash))
}

fn connect(host: &str) -> Result<std::net::TcpStream, String> {
    std::net::TcpStream::connect(host).map_err(|e| format!("cannot reach Azurite at {host}: {e}"))
}

/// Sends Create Container and reads the answer (until the server closes).
fn put_container(
    stream: &mut (impl Read + Write),
    host: &str,
    path: &str,
    sas: &str,
) -> Result<(), String> {
    write!(
        stream,
        "PUT {path}?restype=container&{sas} HTTP/1.1\r\nHost: {host}\r\nx-ms-version: 2021-08-06\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("cannot send to Azurite: {e}"))?;
    stream
        .flush()
        .map_err(|e| format!("cannot send to Azurite: {e}"))?;
    let mut response = Vec::new();
    let read = stream.read_to_end(&mut response);
    // A TLS peer may close without a close_notify once it has answered.
    if let Err(e) = read
        && response.is_empty()
    {
        return Err(format!("cannot read Azurite's answer: {e}"));
    }
    let response = String::from_utf8_lossy(&response);
    let status = response.lines().next().unwrap_or("");
    if status.starts_with("HTTP/1.1 201") {
        Ok(())
    } else {
        Err(format!("Azurite refused to create the container: {status}"))
    }
}
