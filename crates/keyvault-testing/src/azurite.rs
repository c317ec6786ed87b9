//! Starts Azurite's blob service (from the workspace's `node_modules`) on a
//! free loopback port, in memory, for tests that need Azure Blob Storage:
//! over http with SAS tokens ([`Azurite::start`]), or over https where it
//! also accepts bearer tokens ([`Azurite::start_https`]).
//!
//! The npm packages come from the root `package.json`; `cargo xtask test`
//! installs them (`npm ci`) when `node_modules` is missing. [`BlobStorage`]
//! is the container a backup goes to: a real one named by the environment,
//! or one in Azurite.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::sas::{ACCOUNT, ACCOUNT_KEY};

/// A running Azurite blob service; killed on drop.
pub struct Azurite {
    child: Child,
    dir: PathBuf,
    /// `http://127.0.0.1:PORT/devstoreaccount1` (or `https://` from
    /// [`Azurite::start_https`]), the account's blob endpoint.
    pub blob_url: String,
    /// The certificate chain served over https, which clients trust.
    cert_pem: Option<String>,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Azurite {
    /// Starts `azurite-blob --inMemoryPersistence` on a free port of
    /// 127.0.0.1 and waits until it accepts connections.
    ///
    /// # Panics
    ///
    /// When Azurite is not installed (with how to install it) or does not
    /// start within 60 seconds.
    pub fn start() -> Azurite {
        Self::launch(None)
    }

    /// Starts Azurite like [`Azurite::start`], but over https with this
    /// certificate chain (PEM, the server certificate first, for
    /// `127.0.0.1`) and private key, and with `--oauth basic`: besides SAS
    /// tokens it accepts bearer tokens whose audience is Azure Storage and
    /// whose issuer is Microsoft Entra's (it does not check signatures).
    ///
    /// # Panics
    ///
    /// As [`Azurite::start`]; also when the PEM files cannot be written.
    pub fn start_https(cert_pem: &str, key_pem: &str) -> Azurite {
        Self::launch(Some((cert_pem, key_pem)))
    }

    fn launch(tls: Option<(&str, &str)>) -> Azurite {
        let root = crate::workspace_root();
        let bin = bin();
        assert!(
            bin.exists(),
            "Azurite is not installed ({} is missing). Run `cargo xtask test` (it runs `npm ci` \
             at the workspace root when node_modules is missing), or run `npm ci` in {} yourself; \
             both need Node.js and npm.",
            bin.display(),
            root.display()
        );
        let dir =
            std::env::temp_dir().join(format!("azurite-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).expect("azurite work dir");
        let mut https_args = Vec::new();
        if let Some((cert, key)) = tls {
            let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
            std::fs::write(&cert_path, cert).expect("write Azurite's certificate");
            std::fs::write(&key_path, key).expect("write Azurite's key");
            https_args.push("--cert".into());
            https_args.push(cert_path.into_os_string());
            https_args.push("--key".into());
            https_args.push(key_path.into_os_string());
            https_args.extend(["--oauth".into(), "basic".into()]);
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut last_err = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(&bin)
                .args([
                    "--inMemoryPersistence",
                    "--blobHost",
                    "127.0.0.1",
                    "--blobPort",
                    &port.to_string(),
                    "--skipApiVersionCheck",
                    "--loose",
                    "--silent",
                ])
                .args(&https_args)
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Azurite {
                        child,
                        dir,
                        blob_url: format!("{scheme}://127.0.0.1:{port}/{ACCOUNT}"),
                        cert_pem: tls.map(|(cert, _)| cert.to_owned()),
                    };
                }
                if let Ok(Some(status)) = child.try_wait() {
                    last_err = format!("azurite-blob exited with {status}");
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_err = "azurite-blob did not listen within 60 s".into();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("cannot start Azurite: {last_err}");
    }

    /// Creates `container` with the account SAS `sas` (over https trusting
    /// the served certificate) and returns its URL.
    ///
    /// # Errors
    /// Azurite cannot be reached or refuses the container.
    pub fn create_container(&self, container: &str, sas: &str) -> Result<String, String> {
        let url = self.container_url(container);
        match &self.cert_pem {
            Some(ca) => crate::sas::create_container_trusting(&url, sas, ca)?,
            None => crate::sas::create_container(&url, sas)?,
        }
        Ok(url)
    }

    /// The URL of `container` in the development account.
    pub fn container_url(&self, container: &str) -> String {
        format!("{}/{container}", self.blob_url)
    }

    /// Where Azurite runs (its working directory).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// `node_modules/.bin/azurite-blob` at the workspace root (it may be missing).
pub fn bin() -> PathBuf {
    let name = if cfg!(windows) {
        "azurite-blob.cmd"
    } else {
        "azurite-blob"
    };
    crate::workspace_root()
        .join("node_modules")
        .join(".bin")
        .join(name)
}

/// The environment variable that names a running Azurite's blob endpoint,
/// for example `http://127.0.0.1:10000/devstoreaccount1`.
pub const AZURITE_BLOB_URL_VAR: &str = "AZURITE_BLOB_URL";
/// The environment variable that names a real blob container (with
/// [`SAS_TOKEN_VAR`]), for a backup of a real Managed HSM.
pub const CONTAINER_URL_VAR: &str = "AZURE_STORAGE_CONTAINER_URL";
/// The environment variable holding the SAS token of [`CONTAINER_URL_VAR`].
pub const SAS_TOKEN_VAR: &str = "AZURE_STORAGE_SAS_TOKEN";

/// The error of [`BlobStorage::from_env`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A blob container a backup can be written to, with its SAS token.
pub struct BlobStorage {
    /// The container URL.
    pub container_url: String,
    /// A SAS token that lets the HSM read, write and list the container.
    pub sas_token: String,
    /// The Azurite started for it, stopped on drop.
    _azurite: Option<Azurite>,
}

impl std::fmt::Debug for BlobStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStorage")
            .field("container_url", &self.container_url)
            .field("sas_token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl BlobStorage {
    /// The container named by `AZURE_STORAGE_CONTAINER_URL` and
    /// `AZURE_STORAGE_SAS_TOKEN`; else a new container in the Azurite at
    /// `AZURITE_BLOB_URL`; else a new container in an Azurite started from
    /// `node_modules/.bin/azurite-blob` on a free loopback port.
    ///
    /// # Errors
    /// Azurite is not installed (the message says how to install it), does
    /// not start, or refuses the new container.
    pub fn from_env() -> Result<Self, BoxError> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if let (Some(container_url), Some(sas_token)) = (var(CONTAINER_URL_VAR), var(SAS_TOKEN_VAR))
        {
            return Ok(Self {
                container_url,
                sas_token: sas_token.trim_start_matches('?').to_owned(),
                _azurite: None,
            });
        }
        if let Some(blob_url) = var(AZURITE_BLOB_URL_VAR) {
            return Self::azurite_container(blob_url.trim_end_matches('/'), None);
        }
        let bin = bin();
        if !bin.exists() {
            return Err(format!(
                "Azurite (blob storage for the backup) is not installed: {} is missing. \
                 Install it with `npm ci` at the workspace root (or run `cargo xtask test`, \
                 which does it), or set {AZURITE_BLOB_URL_VAR} to a running Azurite's blob \
                 endpoint such as http://127.0.0.1:10000/devstoreaccount1.",
                bin.display()
            )
            .into());
        }
        let az = Azurite::start();
        let blob_url = az.blob_url.clone();
        Self::azurite_container(&blob_url, Some(az))
    }

    /// A new container, named differently on every run, in the Azurite
    /// whose account endpoint is `blob_url`.
    fn azurite_container(blob_url: &str, azurite: Option<Azurite>) -> Result<Self, BoxError> {
        let sas_token = crate::sas::account_sas("rwdlac");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let container_url = format!("{blob_url}/hsm-backups-{:x}", nanos & 0xff_ffff_ffff);
        crate::sas::create_container(&container_url, &sas_token)?;
        Ok(Self {
            container_url,
            sas_token,
            _azurite: azurite,
        })
    }
}
