//! `cargo xtask interop`: the official Python and JavaScript Key Vault SDKs
//! run scenarios (`xtask/interop/`) against the emulator binary, configured
//! the way an unchanged app would be: by environment variables only, with
//! `DefaultAzureCredential` taking its tokens from the emulator's managed
//! identity endpoint, the vault reached under its Azure host name through
//! the emulator's proxy, default client options (challenge verification on)
//! and the emulator in strict auth mode. Backups go to Azurite: with a SAS
//! token over http, and with the emulator's managed identity to a second
//! Azurite over https with `--oauth basic` (serving the emulator's server
//! certificate, so the emulator trusts it).
//!
//! The SDKs are installed into folders of the workspace: the npm packages of
//! the root `package.json` (`node_modules`) and a Python virtual environment
//! (`.interop/venv`, from `xtask/interop/requirements.txt`).

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use keyvault_testing::azurite::Azurite;

/// Environment variables that would make a credential chain or an HTTP
/// stack look elsewhere; removed from the scenarios' environment.
const CLEARED: &[&str] = &[
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "NO_PROXY",
    "no_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Runs every scenario.
pub(crate) fn run(_args: &[String]) -> Result<ExitCode, String> {
    let root = crate::workspace_root();
    crate::setup::npm_ci(&root)?;
    let python = crate::setup::venv(&root, ".interop/venv", "xtask/interop/requirements.txt")?;
    let emulator = Emulator::start(&root, &["--auth", "strict"], &[], Stdio::null())?;
    let mut env = emulator.env();
    // Blob storage for the backup scenario: Azurite with a container and an
    // account SAS; and a second Azurite over https with `--oauth basic`,
    // serving the emulator's own server certificate, for backups the
    // emulator authorises with its managed identity's token.
    let sas = keyvault_testing::sas::account_sas("rwdlac");
    let azurite = Azurite::start();
    let container = azurite.create_container("interop-backups", &sas)?;
    let tls = |name: &str| {
        let path = emulator.tls_dir().join(name);
        std::fs::read_to_string(&path)
            .map_err(|e| format!("could not read {}: {e}", path.display()))
    };
    let oauth_azurite = Azurite::start_https(&tls("server.pem")?, &tls("server-key.pem")?);
    let identity_container = oauth_azurite.create_container("interop-identity-backups", &sas)?;
    env.push(("BLOB_CONTAINER_URL".into(), container));
    env.push(("BLOB_SAS_TOKEN".into(), sas));
    env.push(("BLOB_IDENTITY_CONTAINER_URL".into(), identity_container));
    let scenarios = [
        ("python secrets", python.as_path(), "secrets_sdk.py"),
        (
            "python administration",
            python.as_path(),
            "administration_sdk.py",
        ),
        ("javascript secrets", Path::new("node"), "secrets_sdk.mjs"),
    ];
    let mut failed = Vec::new();
    for (name, program, script) in scenarios {
        let mut command = Command::new(program);
        command.arg(root.join("xtask/interop").join(script));
        for var in CLEARED {
            command.env_remove(var);
        }
        command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(&root);
        eprintln!("interop: {name}");
        match command.status() {
            Ok(status) if status.success() => {}
            Ok(status) => failed.push(format!("{name}: {status}")),
            Err(e) => failed.push(format!("{name}: could not start: {e}")),
        }
    }
    drop(emulator);
    drop(azurite);
    drop(oauth_azurite);
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!("interop scenarios failed: {}", failed.join("; ")))
    }
}

/// The emulator binary, running until dropped.
pub(crate) struct Emulator {
    child: Child,
    first_line: serde_json::Value,
    tls: tempfile::TempDir,
}

impl Emulator {
    /// Builds and starts the emulator binary on free ports with a temporary
    /// TLS folder, `args`, the variables `env` and its standard error sent
    /// to `stderr`.
    pub(crate) fn start(
        root: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> Result<Self, String> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "keyvault-emulator",
                "--bin",
                "keyvault-emulator",
            ])
            .current_dir(root)
            .status()
            .map_err(|e| format!("could not run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("building the emulator failed: {status}"));
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(|d| root.join(d))
            .unwrap_or_else(|| root.join("target"));
        let binary = target.join("debug/keyvault-emulator");
        let tls = tempfile::Builder::new()
            .prefix("keyvault-interop-")
            .tempdir()
            .map_err(|e| format!("could not create a temporary directory: {e}"))?;
        let mut command = Command::new(&binary);
        // Its storage requests go straight to the local Azurites.
        for var in CLEARED.iter().chain(&["HTTPS_PROXY", "https_proxy"]) {
            command.env_remove(var);
        }
        let mut child = command
            .envs(env.iter().copied())
            .args(["--vault-port", "0", "--hsm-port", "0", "--proxy-port", "0"])
            .args(args)
            .arg("--tls-dir")
            .arg(tls.path())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("the emulator has no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut emulator = Self {
            child,
            first_line: serde_json::Value::Null,
            tls,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "the emulator wrote no first line within 60 s".to_owned())?;
        emulator.first_line = serde_json::from_str(&line)
            .map_err(|e| format!("the emulator's first line is not JSON ({e}): {line}"))?;
        Ok(emulator)
    }

    /// A field of the first line (`vault_url`, `ca_cert`, ...).
    pub(crate) fn field(&self, name: &str) -> &str {
        self.first_line[name].as_str().unwrap_or_default()
    }

    /// Whether the process is still running.
    pub(crate) fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Where the emulator keeps its CA and server certificate.
    fn tls_dir(&self) -> &Path {
        self.tls.path()
    }

    /// The environment an app gets: everything from the first line.
    fn env(&self) -> Vec<(String, String)> {
        let field = |name: &str| self.field(name).to_owned();
        let ca = field("ca_cert");
        let vault = self.first_line["vaults"]["emulator"]
            .as_str()
            .unwrap_or_default();
        let hsm = self.first_line["hsms"]["emulator"]
            .as_str()
            .unwrap_or_default();
        vec![
            ("KEYVAULT_URL".into(), vault.to_owned()),
            ("HSM_URL".into(), hsm.to_owned()),
            ("IDENTITY_ENDPOINT".into(), field("identity_endpoint")),
            ("IDENTITY_HEADER".into(), field("identity_header")),
            ("HTTPS_PROXY".into(), field("proxy_url")),
            ("https_proxy".into(), field("proxy_url")),
            ("REQUESTS_CA_BUNDLE".into(), ca.clone()),
            ("SSL_CERT_FILE".into(), ca.clone()),
            ("NODE_EXTRA_CA_CERTS".into(), ca),
        ]
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
