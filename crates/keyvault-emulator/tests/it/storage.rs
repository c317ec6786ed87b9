//! Blob storage helpers for the backup tests: account SAS tokens for
//! Azurite's development account, containers and blob listings over the
//! Blob REST API.

use reqwest::Method;

use crate::azurite::Azurite;

pub use crate::sas::account_sas;
use crate::sas::percent_encode as encode;

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
