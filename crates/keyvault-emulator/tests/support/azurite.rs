//! Starts Azurite's blob service (from the workspace's `node_modules`) on a
//! free loopback port, in memory, for tests that need Azure Blob Storage.
//!
//! Only the standard library is used, so any crate's tests can include this
//! file with `#[path = "../../keyvault-emulator/tests/support/azurite.rs"] mod azurite;`.
//! The npm packages come from the root `package.json`; `cargo xtask test`
//! installs them (`npm ci`) when `node_modules` is missing.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Azurite's well-known development account.
pub const ACCOUNT: &str = "devstoreaccount1";
/// The well-known key of [`ACCOUNT`] (public, for local emulators only).
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running Azurite blob service; killed on drop.
pub struct Azurite {
    child: Child,
    dir: PathBuf,
    /// `http://127.0.0.1:PORT/devstoreaccount1`, the account's blob endpoint.
    pub blob_url: String,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The workspace root: the nearest ancestor of this crate with a `package.json`.
fn workspace_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        if dir.join("package.json").is_file() {
            return dir;
        }
        if !dir.pop() {
            panic!("no package.json above {}", env!("CARGO_MANIFEST_DIR"));
        }
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
        let root = workspace_root();
        let bin = root
            .join("node_modules")
            .join(".bin")
            .join(if cfg!(windows) {
                "azurite-blob.cmd"
            } else {
                "azurite-blob"
            });
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
                        blob_url: format!("http://127.0.0.1:{port}/{ACCOUNT}"),
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

    /// The URL of `container` in the development account.
    pub fn container_url(&self, container: &str) -> String {
        format!("{}/{container}", self.blob_url)
    }

    /// Where Azurite runs (its working directory).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
