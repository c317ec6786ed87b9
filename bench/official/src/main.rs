//! The official `azure_security_keyvault_secrets` client, with its default
//! transport, as a driver of the clients benchmark: `BIN driver NAME
//! SCENARIO COUNT VAULT_URL`, run by `clients-bench --official BIN` (NAME
//! `official`, built by `../stable`: the newest stable release) and
//! `--official-pre BIN` (NAME `official-pre`, built by `../pre`: the newest
//! pre-release). Both versions compile this one file; each its own
//! workspace, so that its `reqwest` has only the features the official
//! crate asks for.
//!
//! The scenarios, the measuring and the printed line are those of every
//! Rust driver of the benchmark: this binary compiles `driver.rs` of
//! `bench/clients`, and gives it only the client.

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../../clients/src/driver.rs"]
mod driver;

/// The official client.
struct Official(azure_security_keyvault_secrets::SecretClient);

impl driver::Client for Official {
    type Cache = std::convert::Infallible;

    fn new(vault: &str) -> Result<Self, driver::Error> {
        // Its default transport, which trusts the CA through
        // `SSL_CERT_FILE` as a user would have it do.
        let credential = std::sync::Arc::new(driver::StaticToken);
        Ok(Self(azure_security_keyvault_secrets::SecretClient::new(
            vault, credential, None,
        )?))
    }

    async fn get(&self) -> Result<(), driver::Error> {
        let response = self.0.get_secret(driver::SECRET_NAME, None).await?;
        if response.into_model()?.value.is_none() {
            return Err("the secret had no value".into());
        }
        Ok(())
    }

    async fn list(&self) -> Result<usize, driver::Error> {
        use futures::TryStreamExt as _;
        let mut n = 0;
        let mut items = self.0.list_secret_properties(None)?;
        while let Some(item) = items.try_next().await? {
            n += usize::from(item.id.is_some());
        }
        Ok(n)
    }
}

fn main() -> std::process::ExitCode {
    let program = env!("CARGO_BIN_NAME");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((first, rest))
            if first == "driver"
                && matches!(
                    rest.first().map(String::as_str),
                    Some("official" | "official-pre")
                ) =>
        {
            driver::run::<Official>(rest)
        }
        _ => Err(
            format!("usage: {program} driver official|official-pre SCENARIO COUNT VAULT_URL")
                .into(),
        ),
    };
    driver::exit(program, result)
}
