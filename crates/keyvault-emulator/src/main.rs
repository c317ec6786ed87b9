//! `keyvault-emulator`: runs the emulator until SIGTERM or SIGINT.
//!
//! The first line on stdout is a JSON object with `vault_url`, `hsm_url`,
//! `ca_cert`, `proxy_url`, `vaults`, `hsms`, `vault_urls`, `hsm_urls`, `identity_endpoint`,
//! `identity_header` and `version`; nothing else goes to stdout. Logs go to stderr.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use keyvault_emulator::{AuthMode, Emulator, EmulatorBuilder, RbacMode};

const USAGE: &str = "\
Usage: keyvault-emulator [OPTIONS]

Options:
  --host ADDR              address to listen on (default 127.0.0.1)
  --vault-port PORT        vault endpoint port, 0 = any free port (default 8443)
  --hsm-port PORT          Managed HSM endpoint port, 0 = any free port (default 8444)
  --vault NAME[:PORT]      a vault of its own named NAME (repeatable): the first on
                           --vault-port, the others on PORT or any free port
                           (default: one vault, emulator, under any name)
  --hsm NAME[:PORT]        a Managed HSM of its own named NAME (repeatable), the
                           same way
  --proxy-port PORT        port of the HTTPS proxy that serves the endpoints as
                           https://<name>.vault.azure.net and
                           https://<name>.managedhsm.azure.net (default 8442)
  --data-dir DIR           keep state durably in DIR (default: in memory)
  --tls-dir DIR            where the generated CA and server certificate live
                           (default: a per-user data directory)
  --cert FILE --key FILE   serve this PEM certificate chain and key instead
  --auth MODE              any (default), jwt, strict (tokens of the identity
                           endpoint only) or off
  --challenge-resource URL resource of the vault's 401 challenge (default https://vault.azure.net)
  --hsm-challenge-resource URL
                           resource of the HSM's 401 challenge (default https://managedhsm.azure.net)
  --rbac MODE              Managed HSM access control: off (default) or enforce (needs --auth jwt
                           or strict)
  --hsm-admin OID          make this object id a Managed HSM Administrator (repeatable)
  --tenant-id ID           tenant of challenges and tokens
                           (default e3a1c0de-5eed-4c0f-9a7e-000000000001)
  --identity CLIENT=OBJECT declare a user-assigned managed identity by client id
                           and object id (repeatable)
  --retention-days N       soft-delete retention, 7 to 90 (default 90)
  --purge-protection       refuse purges with 403
  --max-connections N      connections the vault and HSM endpoints hold open
                           together (default 1024); beyond it a new connection
                           is closed at accept
  --header-timeout SECS    time a client has to finish the TLS handshake (10 at
                           most) and to send a request's head; also how long an
                           idle connection is kept (default 30)
  --body-timeout SECS      time a client has to send a request's whole body once
                           its head is read, else 408 RequestTimeout (default 10;
                           both timeouts at most 86400)
  --import FILE            load secrets, keys, roles, assignments and settings
                           from FILE at start (the format of GET /_emulator/export)
  --faults SPEC            inject faults into the vault and HSM requests, e.g.
                           seed=42,rate=0.1 (see FaultPlan: keys seed, rate, 429,
                           503, drop-before, drop-after, latency, stall,
                           retry-after, latency-ms, stall-ms); changed at run
                           time with PUT/DELETE /_emulator/faults
  -h, --help               print this help
  -V, --version            print the version
";

/// What the command line asked for.
enum Command {
    Run(Box<EmulatorBuilder>),
    Help,
    Version,
}

fn default_tls_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("LOCALAPPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("keyvault-emulator").join("tls")
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut b = (Emulator::builder().vault_port(8443).hsm_port(8444)).proxy_port(8442);
    let mut tls_dir = None;
    let mut cert = None;
    let mut key = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let port = |v: String, name: &str| -> Result<u16, String> {
            v.parse()
                .map_err(|_| format!("{name}: {v:?} is not a port number"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--host" => b = b.host(value("--host")?),
            "--vault-port" => b = b.vault_port(port(value("--vault-port")?, "--vault-port")?),
            "--hsm-port" => b = b.hsm_port(port(value("--hsm-port")?, "--hsm-port")?),
            "--proxy-port" => b = b.proxy_port(port(value("--proxy-port")?, "--proxy-port")?),
            "--data-dir" => b = b.data_dir(value("--data-dir")?),
            "--tls-dir" => tls_dir = Some(PathBuf::from(value("--tls-dir")?)),
            "--cert" => cert = Some(PathBuf::from(value("--cert")?)),
            "--key" => key = Some(PathBuf::from(value("--key")?)),
            "--auth" => b = b.auth(value("--auth")?.parse::<AuthMode>()?),
            "--challenge-resource" => b = b.challenge_resource(value("--challenge-resource")?),
            "--hsm-challenge-resource" => {
                b = b.hsm_challenge_resource(value("--hsm-challenge-resource")?)
            }
            "--rbac" => b = b.rbac(value("--rbac")?.parse::<RbacMode>()?),
            "--hsm-admin" => b = b.hsm_admin(value("--hsm-admin")?),
            "--tenant-id" => b = b.tenant_id(value("--tenant-id")?),
            "--identity" => {
                let (client, object) = keyvault_emulator::parse_identity(&value("--identity")?)?;
                b = b.user_assigned_identity(client, object);
            }
            "--retention-days" => {
                let v = value("--retention-days")?;
                b = b.soft_delete_retention_days(
                    v.parse()
                        .map_err(|_| format!("--retention-days: {v:?} is not a number"))?,
                );
            }
            "--purge-protection" => b = b.purge_protection(true),
            "--max-connections" => {
                let v = value("--max-connections")?;
                match v.parse::<usize>() {
                    Ok(n) if n > 0 => b = b.max_connections(n),
                    _ => return Err(format!("--max-connections: {v:?} is not a positive number")),
                }
            }
            "--header-timeout" | "--body-timeout" => {
                let v = value(&flag)?;
                let secs = (v.parse::<f64>().ok()).filter(|s| *s > 0.0 && *s <= 86_400.0);
                let Some(t) = secs.map(std::time::Duration::from_secs_f64) else {
                    return Err(format!(
                        "{flag}: {v:?} is not a number of seconds from 0 to 86400"
                    ));
                };
                b = match flag.as_str() {
                    "--header-timeout" => b.header_timeout(t),
                    _ => b.body_timeout(t),
                };
            }
            "--import" => b = b.import_file(value("--import")?),
            "--faults" => {
                let spec = value("--faults")?;
                b = b.faults(spec.parse().map_err(|e| format!("--faults: {e}"))?);
            }
            "--vault" | "--hsm" => {
                let v = value(&flag)?;
                let (name, port) = match v.split_once(':') {
                    Some((name, p)) => (name.to_owned(), Some(port(p.to_owned(), &flag)?)),
                    None => (v, None),
                };
                b = match (flag.as_str(), port) {
                    ("--vault", None) => b.vault(name),
                    ("--vault", Some(p)) => b.vault_on_port(name, p),
                    (_, None) => b.hsm(name),
                    (_, Some(p)) => b.hsm_on_port(name, p),
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    b = match (cert, key) {
        (Some(cert), Some(key)) => b.tls_files(cert, key),
        (None, None) => b.tls_dir(tls_dir.unwrap_or_else(default_tls_dir)),
        _ => return Err("--cert and --key go together".into()),
    };
    Ok(Command::Run(Box::new(b)))
}

#[allow(clippy::print_stderr)]
fn fail(message: &str) -> ExitCode {
    eprintln!("keyvault-emulator: {message}");
    ExitCode::from(2)
}

#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    let builder = match parse(std::env::args().skip(1)) {
        Ok(Command::Run(b)) => *b,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("keyvault-emulator {}", keyvault_emulator::VERSION);
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(&format!("{e}\n\n{USAGE}")),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async move {
        let handle = match builder.start().await {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, source = ?std::error::Error::source(&e), "cannot start");
                return fail(&e.to_string());
            }
        };
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{}", handle.startup_json())
            .and_then(|_| stdout.flush())
            .is_err()
        {
            tracing::warn!("cannot write the startup line to stdout");
        }
        drop(stdout);
        wait_for_signal().await;
        tracing::info!("stopping");
        handle.shutdown().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Command, String> {
        parse(a.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn hsm_flags() {
        assert!(matches!(
            args(&[
                "--rbac",
                "enforce",
                "--auth",
                "jwt",
                "--hsm-admin",
                "a",
                "--hsm-admin=b"
            ]),
            Ok(Command::Run(_))
        ));
        assert!(matches!(
            args(&["--hsm-challenge-resource", "https://hsm.example"]),
            Ok(Command::Run(_))
        ));
        assert!(matches!(
            args(&["--tenant-id", "t", "--identity", "c=o", "--identity=d=p"]),
            Ok(Command::Run(_))
        ));
        assert!(args(&["--identity", "c"]).is_err());
        assert!(USAGE.contains(keyvault_emulator::DEFAULT_TENANT_ID));
        assert!(args(&["--rbac", "on"]).is_err());
        assert!(matches!(
            args(&["--vault", "a1", "--vault=b2:0", "--hsm", "h1:8450"]),
            Ok(Command::Run(_))
        ));
        assert!(args(&["--vault", "a1:x"]).is_err());
        assert!(args(&["--hsm"]).is_err());
        assert!(args(&["--hsm-admin"]).is_err());
        assert!(matches!(
            args(&["--import", "seed.json"]),
            Ok(Command::Run(_))
        ));
        assert!(args(&["--import"]).is_err());
        assert!(matches!(
            args(&["--max-connections", "8"]),
            Ok(Command::Run(_))
        ));
        for bad in ["0", "-1", "many"] {
            assert!(args(&["--max-connections", bad]).is_err(), "{bad}");
        }
        assert!(matches!(
            args(&["--header-timeout", "5", "--body-timeout=0.5"]),
            Ok(Command::Run(_))
        ));
        for bad in ["0", "-1", "NaN", "inf", "86401", "soon"] {
            let e = args(&["--body-timeout", bad]).err().unwrap_or_default();
            assert!(e.starts_with("--body-timeout: "), "{bad}: {e}");
            assert!(args(&["--header-timeout", bad]).is_err(), "{bad}");
        }
        assert!(matches!(
            args(&["--faults", "seed=42,rate=0.1"]),
            Ok(Command::Run(_))
        ));
        let bad = args(&["--faults=seed=1,flood=0.1"]).err().unwrap();
        assert!(bad.starts_with("--faults: unknown key `flood`"), "{bad}");
    }
}
