//! Account SAS tokens for Azurite's development account, and creating a
//! container with one, for tests and examples that back up to Azurite.

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
    let rest = container_url
        .strip_prefix("http://")
        .ok_or("an Azurite container URL starts with http://")?;
    let slash = rest.find('/').ok_or("the container URL has no path")?;
    let (host, path) = rest.split_at(slash);
    let mut stream = std::net::TcpStream::connect(host)
        .map_err(|e| format!("cannot reach Azurite at {host}: {e}"))?;
    write!(
        stream,
        "PUT {path}?restype=container&{sas} HTTP/1.1\r\nHost: {host}\r\nx-ms-version: 2021-08-06\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("cannot send to Azurite: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("cannot read Azurite's answer: {e}"))?;
    let status = response.lines().next().unwrap_or("");
    if status.starts_with("HTTP/1.1 201") {
        Ok(())
    } else {
        Err(format!("Azurite refused to create the container: {status}"))
    }
}
