//! Helpers shared by the tests: an emulator and a client that trusts it.

use std::sync::Arc;

use keyvault_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};
use keyvault_secrets::{ApiVersion, ClientOptions, SecretClient, SecretClientOptions};
pub use keyvault_testing::StaticToken;

/// A running emulator and a client of it.
pub struct Env {
    pub emu: EmulatorHandle,
    pub client: SecretClient,
    pub credential: Arc<StaticToken>,
}

impl Env {
    /// Another client of the same emulator, with another API version.
    pub fn client_with(&self, api_version: ApiVersion) -> SecretClient {
        client_for(&self.emu, self.credential.clone(), api_version)
    }
}

pub fn client_for(
    emu: &EmulatorHandle,
    credential: Arc<StaticToken>,
    api_version: ApiVersion,
) -> SecretClient {
    let options = SecretClientOptions {
        api_version,
        client_options: ClientOptions {
            root_certificates_pem: vec![emu.ca_cert_pem().as_bytes().to_vec()],
            verify_challenge_resource: false,
            ..Default::default()
        },
    };
    SecretClient::new(emu.vault_url(), credential, Some(options)).expect("client")
}

/// Starts an emulator with the library defaults.
pub async fn start() -> Env {
    start_with(Emulator::builder()).await
}

/// Starts an emulator from `builder`.
pub async fn start_with(builder: EmulatorBuilder) -> Env {
    let emu = keyvault_testing::emulator::start_with(builder).await;
    let credential = Arc::new(StaticToken::default());
    let client = client_for(&emu, credential.clone(), ApiVersion::default());
    Env {
        emu,
        client,
        credential,
    }
}

/// A poller option that polls fast.
pub fn fast() -> Option<keyvault_secrets::PollerOptions> {
    Some(keyvault_secrets::PollerOptions {
        frequency: Some(std::time::Duration::from_millis(20)),
        ..Default::default()
    })
}

/// Log lines written by a subscriber of this thread.
#[derive(Clone, Default)]
pub struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Captures every event of this thread, at trace level, until the guard
/// is dropped.
pub fn capture_logs() -> (Buffer, tracing::subscriber::DefaultGuard) {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let guard = tracing_subscriber::util::SubscriberInitExt::set_default(subscriber);
    (buffer, guard)
}
