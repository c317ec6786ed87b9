//! Blob storage helpers for the backup tests: account SAS tokens for
//! Azurite's development account, containers and blob listings over the
//! Blob REST API.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::Method;

use crate::azurite::{ACCOUNT, ACCOUNT_KEY, Azurite};

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An account SAS (blob service; service, container and object resources)
/// signed with the development account's key.
pub fn account_sas(permissions: &str) -> String {
    let (sv, ss, srt, se, spr) = (
        "2019-12-12",
        "b",
        "sco",
        "2099-01-01T00:00:00Z",
        "https,http",
    );
    let to_sign = format!("{ACCOUNT}\n{permissions}\n{ss}\n{srt}\n\n{se}\n\n{spr}\n{sv}\n");
    let key = STANDARD.decode(ACCOUNT_KEY).expect("account key");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("hmac key");
    mac.update(to_sign.as_bytes());
    let sig = STANDARD.encode(mac.finalize().into_bytes());
    format!(
        "sv={sv}&ss={ss}&srt={srt}&sp={permissions}&se={}&spr={}&sig={}",
        encode(se),
        encode(spr),
        encode(&sig)
    )
}

/// Creates `name` in Azurite (asserting success).
pub async fn create_container(client: &reqwest::Client, az: &Azurite, name: &str, sas: &str) {
    let url = format!("{}?restype=container&{sas}", az.container_url(name));
    let r = client
        .request(Method::PUT, &url)
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .expect("Azurite answers");
    let status = r.status();
    assert_eq!(
        status.as_u16(),
        201,
        "create container: {}",
        r.text().await.unwrap_or_default()
    );
}

/// Names of the blobs under `prefix` in `container`.
pub async fn list_blobs(
    client: &reqwest::Client,
    az: &Azurite,
    container: &str,
    prefix: &str,
    sas: &str,
) -> Vec<String> {
    let url = format!(
        "{}?restype=container&comp=list&prefix={}&{sas}",
        az.container_url(container),
        encode(prefix)
    );
    let r = client
        .get(&url)
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .expect("Azurite answers");
    assert!(r.status().is_success(), "list blobs: {}", r.status());
    let xml = r.text().await.unwrap();
    xml.split("<Name>")
        .skip(1)
        .filter_map(|s| s.split("</Name>").next())
        .map(str::to_owned)
        .collect()
}

/// The body of one blob.
pub async fn get_blob(
    client: &reqwest::Client,
    az: &Azurite,
    container: &str,
    blob: &str,
    sas: &str,
) -> Vec<u8> {
    let url = format!("{}/{blob}?{sas}", az.container_url(container));
    let r = client
        .get(&url)
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .expect("Azurite answers");
    assert!(r.status().is_success(), "get blob {blob}: {}", r.status());
    r.bytes().await.unwrap().to_vec()
}
