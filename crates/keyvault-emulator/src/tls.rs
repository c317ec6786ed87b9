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

struct Generated {
    ca_pem: String,
    server_pem: String,
    server_key_pem: String,
}

fn tls_err(message: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::with_source(ErrorKind::Tls, message.to_owned(), e)
}

fn generate() -> Result<Generated, Error> {
    let ca_key = KeyPair::generate().map_err(|e| tls_err("cannot generate the CA key", e))?;
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
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|e| tls_err("cannot sign the CA certificate", e))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key =
        KeyPair::generate().map_err(|e| tls_err("cannot generate the server key", e))?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])
    .map_err(|e| tls_err("bad server certificate params", e))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let server_cert = params
        .signed_by(&server_key, &issuer)
        .map_err(|e| tls_err("cannot sign the server certificate", e))?;
    Ok(Generated {
        ca_pem: ca_cert.pem(),
        server_pem: format!("{}{}", server_cert.pem(), ca_cert.pem()),
        server_key_pem: server_key.serialize_pem(),
    })
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
            fs::create_dir_all(dir).map_err(|e| {
                Error::with_source(ErrorKind::Io, format!("cannot create {}", dir.display()), e)
            })?;
            let ca = dir.join("ca.pem");
            let cert = dir.join("server.pem");
            let key = dir.join("server-key.pem");
            if !(ca.is_file() && cert.is_file() && key.is_file()) {
                let g = generate()?;
                write(&key, &g.server_key_pem)?;
                restrict(&key);
                write(&cert, &g.server_pem)?;
                write(&ca, &g.ca_pem)?;
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

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict(_path: &Path) {}

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
}
