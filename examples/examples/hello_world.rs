//! Set, get, update and delete a secret.
//!
//! `cargo run --example hello_world` (against the embedded emulator unless
//! `AZURE_KEYVAULT_URL` names a vault).

#![allow(clippy::print_stdout)]

use examples::{BoxError, Target, date, unique_name};
use keyvault_secrets::{SecretClient, SetSecretOptions, UpdateSecretPropertiesOptions};
use time::{Duration, OffsetDateTime};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::from_env().await?;
    println!("{}", target.describe());
    run(&target.secret_client()?).await?;
    target.shutdown().await;
    Ok(())
}

/// The example itself.
pub async fn run(client: &SecretClient) -> Result<(), BoxError> {
    let name = unique_name("hello-world");

    // A secret that expires in a year.
    println!("Creating secret {name}");
    let options = SetSecretOptions {
        expires_on: Some(OffsetDateTime::now_utc() + Duration::days(365)),
        ..Default::default()
    };
    let secret = client
        .set_secret(&name, "hello-value", Some(options))
        .await?;
    println!(
        "Secret {} created, version {}, expires on {}",
        secret.name(),
        secret.properties.version().unwrap_or("?"),
        date(secret.properties.expires_on)
    );

    // Read it back: the value round-trips (compared, never printed).
    let fetched = client.get_secret(&name, None).await?;
    let same = fetched.value.expose_secret() == secret.value.expose_secret();
    println!("Secret {} read back; value matches: {same}", fetched.name());

    // Change its properties (not its value): a content type and a tag.
    let update = UpdateSecretPropertiesOptions {
        content_type: Some("text/plain".into()),
        tags: Some([("purpose".to_owned(), "demo".to_owned())].into()),
        ..Default::default()
    };
    let props = client.update_secret_properties(&name, Some(update)).await?;
    println!(
        "Secret {} updated: content type {:?}, tags {:?}",
        props.name(),
        props.content_type,
        props.tags
    );

    // A new value is a new version.
    let v2 = client.set_secret(&name, "hello-value-2", None).await?;
    println!("New version {}", v2.properties.version().unwrap_or("?"));

    // Delete it and wait until the deletion is complete.
    println!("Deleting secret {name}");
    let deleted = client.begin_delete_secret(&name, None).await?.await?;
    println!(
        "Secret {} deleted on {}; it will be purged on {}",
        deleted.name(),
        date(deleted.deleted_on),
        date(deleted.scheduled_purge_date)
    );
    Ok(())
}
