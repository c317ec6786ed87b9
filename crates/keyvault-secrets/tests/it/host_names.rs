//! The emulator under an Azure host name: the client's default challenge
//! verification passes, with only the emulator's CA trusted.

use keyvault_secrets::{ClientOptions, ProxyOptions, SecretClient, SecretClientOptions};

use crate::common::start;

#[tokio::test]
async fn default_challenge_verification_passes_through_the_emulators_proxy() {
    let env = start().await;
    let http =
        keyvault_testing::tls::client_through_proxy(env.emu.ca_cert_pem(), env.emu.proxy_url());
    let client_options = ClientOptions {
        http_client: Some(http),
        ..Default::default()
    };
    assert!(client_options.verify_challenge_resource);
    let options = SecretClientOptions {
        client_options,
        ..Default::default()
    };
    let url = env.emu.vault_host_url();
    let client = SecretClient::new(&url, env.credential.clone(), Some(options)).unwrap();
    let set = client.set_secret("host-name", "v", None).await.unwrap();
    let id = set.properties.id();
    assert!(
        id.starts_with("https://emulator.vault.azure.net/secrets/host-name/"),
        "{id}"
    );
    let got = client.get_secret("host-name", None).await.unwrap();
    assert_eq!(got.value.expose_secret(), "v");
}

#[tokio::test]
async fn the_proxy_option_reaches_the_emulator_under_its_azure_host_name() {
    let env = start().await;
    let client_options = ClientOptions {
        proxy: Some(ProxyOptions::new(env.emu.proxy_url())),
        root_certificates_pem: vec![env.emu.ca_cert_pem().as_bytes().to_vec()],
        ..Default::default()
    };
    let options = SecretClientOptions {
        client_options,
        ..Default::default()
    };
    // Only the proxy tunnels `emulator.vault.azure.net` to the emulator.
    let url = env.emu.vault_host_url();
    let client = SecretClient::new(&url, env.credential.clone(), Some(options)).unwrap();
    client.set_secret("via-proxy", "v", None).await.unwrap();
    let got = client.get_secret("via-proxy", None).await.unwrap();
    assert_eq!(got.value.expose_secret(), "v");
}
