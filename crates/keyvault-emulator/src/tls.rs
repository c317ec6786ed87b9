//! TLS: a generated certificate authority and server certificate (SANs
//! `localhost`, `127.0.0.1`, `::1`), kept in memory or in a directory where they
//! are generated once and reused; or a certificate and key given as PEM files.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, ErrorKind};
use crate::files;

/// Where the server certificate comes from.
#[derive(Debug, Clone, Default)]
pub enum TlsSource {
    /// Generate a fresh CA and server certificate in memory; nothing is written.
    #[default]
    InMemory,
    /// Use `ca.pem`, `server.pem` and `server-key.pem` in this directory,
    /// generating them the first time.
    Dir(PathBuf),
    /// Serve this certificate chain and private key (PEM files). The chain file
    /// is what clients must trust.
    Files {
        /// PEM certificate chain, the server certificate first.
        cert: PathBuf,
        /// PEM private key.
        key: PathBuf,
    },
}

/// The certificates an emulator serves.
#[derive(Clone)]
pub(crate) struct TlsMaterial {
    /// PEM of the certificate clients must trust.
    pub(crate) ca_pem: String,
    /// Where that PEM is on disk, when it is.
    pub(crate) ca_path: Option<PathBuf>,
    pub(crate) config: Arc<ServerConfig>,
}

/// How long a server certificate is valid: within what every client accepts
/// for certificates of a private CA (some refuse more than 825 days).
const SERVER_VALIDITY_DAYS: i64 = 397;
/// A reused server certificate older than this is issued again.
const SERVER_REISSUE_AFTER_DAYS: u64 = 300;

struct Generated {
    ca_pem: String,
    ca_key_pem: String,
    server_pem: String,
    server_key_pem: String,
}

/// The CA's parameters: the same every time, so a persisted CA key can sign
/// new server certificates that chain to the already trusted `ca.pem`.
fn ca_params() -> Result<CertificateParams, Error> {
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(|e| tls_err("bad CA params", e))?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "keyvault-emulator local CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(ca_params)
}

/// The names the server certificate covers: loopback, and the Azure host
/// names the proxy serves.
const SERVER_NAMES: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "::1",
    "*.vault.azure.net",
    "*.managedhsm.azure.net",
];

/// Issues a server certificate (SANs [`SERVER_NAMES`]) signed by the CA key;
/// returns the chain PEM (server, then CA) and the key PEM.
fn issue_server(ca_key: KeyPair, ca_pem: &str) -> Result<(String, String), Error> {
    let issuer = Issuer::new(ca_params()?, ca_key);
    let server_key =
        KeyPair::generate().map_err(|e| tls_err("cannot generate the server key", e))?;
    let names: Vec<String> = SERVER_NAMES.iter().map(|n| (*n).to_owned()).collect();
    let mut params =
        CertificateParams::new(names).map_err(|e| tls_err("bad server certificate params", e))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(SERVER_VALIDITY_DAYS);
    let server_cert = params
        .signed_by(&server_key, &issuer)
        .map_err(|e| tls_err("cannot sign the server certificate", e))?;
    Ok((
        format!("{}{ca_pem}", server_cert.pem()),
        server_key.serialize_pem(),
    ))
}

fn tls_err(message: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::with_source(ErrorKind::Tls, message.to_owned(), e)
}

fn generate() -> Result<Generated, Error> {
    let ca_key = KeyPair::generate().map_err(|e| tls_err("cannot generate the CA key", e))?;
    let ca_cert = ca_params()?
        .self_signed(&ca_key)
        .map_err(|e| tls_err("cannot sign the CA certificate", e))?;
    let ca_pem = ca_cert.pem();
    let ca_key_pem = ca_key.serialize_pem();
    let (server_pem, server_key_pem) = issue_server(ca_key, &ca_pem)?;
    Ok(Generated {
        ca_pem,
        ca_key_pem,
        server_pem,
        server_key_pem,
    })
}

/// Whether a reused server certificate file is old enough to issue again,
/// or was issued for fewer names than [`SERVER_NAMES`] (by an older
/// version).
fn is_stale(path: &Path) -> bool {
    let old = fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > SERVER_REISSUE_AFTER_DAYS * 86_400);
    let leaf = fs::read_to_string(path).ok().and_then(|pem| {
        let first = rustls_pemfile::certs(&mut pem.as_bytes()).next()?;
        first.ok()
    });
    // A DNS name is stored as its ASCII bytes in the certificate.
    let covers = |name: &str| {
        leaf.as_ref()
            .is_some_and(|der| der.windows(name.len()).any(|w| w == name.as_bytes()))
    };
    old || !SERVER_NAMES
        .iter()
        .filter(|n| n.starts_with('*'))
        .all(|n| covers(n))
}

fn parse_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut pem.as_bytes()).collect();
    let certs = certs.map_err(|e| tls_err("cannot parse the certificate PEM", e))?;
    if certs.is_empty() {
        return Err(Error::new(ErrorKind::Tls, "no certificate in the PEM"));
    }
    Ok(certs)
}

fn parse_key(pem: &str) -> Result<PrivateKeyDer<'static>, Error> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .map_err(|e| tls_err("cannot parse the private key PEM", e))?
        .ok_or_else(|| Error::new(ErrorKind::Tls, "no private key in the PEM"))
}

fn server_config(cert_pem: &str, key_pem: &str) -> Result<Arc<ServerConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("cannot configure TLS", e))?
        .with_no_client_auth()
        .with_single_cert(parse_certs(cert_pem)?, parse_key(key_pem)?)
        .map_err(|e| tls_err("the certificate and key do not match", e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read(path: &Path) -> Result<String, Error> {
    fs::read_to_string(path).map_err(|e| {
        Error::with_source(ErrorKind::Io, format!("cannot read {}", path.display()), e)
    })
}

fn write(path: &Path, contents: &str) -> Result<(), Error> {
    fs::write(path, contents).map_err(|e| {
        Error::with_source(ErrorKind::Io, format!("cannot write {}", path.display()), e)
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Loads or generates the certificates for `source`.
pub(crate) fn load(source: &TlsSource) -> Result<TlsMaterial, Error> {
    match source {
        TlsSource::InMemory => {
            let g = generate()?;
            Ok(TlsMaterial {
                config: server_config(&g.server_pem, &g.server_key_pem)?,
                ca_pem: g.ca_pem,
                ca_path: None,
            })
        }
        TlsSource::Dir(dir) => {
            files::create_private_dir(dir)?;
            let ca = dir.join("ca.pem");
            let ca_key = dir.join("ca-key.pem");
            let cert = dir.join("server.pem");
            let key = dir.join("server-key.pem");
            if !(ca.is_file() && ca_key.is_file() && cert.is_file() && key.is_file()) {
                let g = generate()?;
                files::write_private(&ca_key, g.ca_key_pem.as_bytes())?;
                files::write_private(&key, g.server_key_pem.as_bytes())?;
                write(&cert, &g.server_pem)?;
                write(&ca, &g.ca_pem)?;
            } else if is_stale(&cert) {
                let ca_pem = read(&ca)?;
                let ca_key_pair = KeyPair::from_pem(&read(&ca_key)?)
                    .map_err(|e| tls_err("cannot read the CA key", e))?;
                let (server_pem, server_key_pem) = issue_server(ca_key_pair, &ca_pem)?;
                files::write_private(&key, server_key_pem.as_bytes())?;
                write(&cert, &server_pem)?;
                tracing::info!(dir = %dir.display(), "issued a new server certificate");
            }
            let (ca_pem, cert_pem, key_pem) = (read(&ca)?, read(&cert)?, read(&key)?);
            Ok(TlsMaterial {
                config: server_config(&cert_pem, &key_pem)?,
                ca_pem,
                ca_path: Some(absolute(&ca)),
            })
        }
        TlsSource::Files { cert, key } => {
            let (cert_pem, key_pem) = (read(cert)?, read(key)?);
            Ok(TlsMaterial {
                config: server_config(&cert_pem, &key_pem)?,
                ca_pem: cert_pem,
                ca_path: Some(absolute(cert)),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_certificates_are_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load(&TlsSource::Dir(dir.path().to_path_buf())).unwrap();
        let second = load(&TlsSource::Dir(dir.path().to_path_buf())).unwrap();
        assert_eq!(first.ca_pem, second.ca_pem);
        assert!(first.ca_path.unwrap().is_absolute());
        let mem = load(&TlsSource::InMemory).unwrap();
        assert_ne!(mem.ca_pem, first.ca_pem);
        assert!(mem.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn stale_server_certificates_are_reissued_by_the_same_ca() {
        let dir = tempfile::tempdir().unwrap();
        let source = TlsSource::Dir(dir.path().to_path_buf());
        let first = load(&source).unwrap();
        let cert = dir.path().join("server.pem");
        let before = fs::read_to_string(&cert).unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(400 * 86_400);
        fs::File::options()
            .write(true)
            .open(&cert)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(is_stale(&cert));
        let second = load(&source).unwrap();
        assert_eq!(first.ca_pem, second.ca_pem);
        let after = fs::read_to_string(&cert).unwrap();
        assert_ne!(before, after);
        assert!(
            after.ends_with(&first.ca_pem),
            "the chain ends with the same CA"
        );
        assert!(!is_stale(&cert));
    }
}
