//! Starting and stopping an emulator: [`Emulator::builder`] and the
//! [`EmulatorHandle`] it returns.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use rand::RngCore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin::Admin;
use crate::auth::{AuthMode, Authenticator};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::faults::{FaultCounts, FaultPlan};
use crate::hsm::{Hsm, HsmConfig, RbacMode};
use crate::identity::Identities;
use crate::objects::Retention;
use crate::proxy;
use crate::server;
use crate::service::{self, Service};
use crate::store::{META, Op, Store};
use crate::tls::{self, TlsSource};
use crate::vault::Vault;

/// The default challenge resource of the vault endpoint.
pub const VAULT_RESOURCE: &str = "https://vault.azure.net";
/// The default challenge resource of the Managed HSM endpoint.
pub const HSM_RESOURCE: &str = "https://managedhsm.azure.net";

/// Entry point: `Emulator::builder()...start().await`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the library defaults: `127.0.0.1`, ephemeral ports, in
    /// memory, certificates generated in memory, `AuthMode::Any`, 90 days of
    /// soft-delete retention, no purge protection.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), keyvault_emulator::Error> {
    /// use keyvault_emulator::{AuthMode, Emulator};
    ///
    /// let emulator = Emulator::builder()
    ///     .auth(AuthMode::Jwt)
    ///     .data_dir("target/emulator-data")
    ///     .purge_protection(true)
    ///     .start()
    ///     .await?;
    /// assert!(emulator.vault_url().starts_with("https://localhost:"));
    /// emulator.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// The name of the vault and the HSM of an emulator that was given no
/// names (see [`EmulatorBuilder::vault`]).
pub const DEFAULT_NAME: &str = "emulator";

/// Options of an emulator; see [`Emulator::builder`].
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    host: String,
    vault_port: u16,
    hsm_port: u16,
    proxy_port: u16,
    data_dir: Option<PathBuf>,
    tls: TlsSource,
    auth: AuthMode,
    challenge_resource: String,
    tenant_id: Option<String>,
    identities: Vec<(String, String)>,
    retention_days: u32,
    purge_protection: bool,
    clock: Clock,
    admin_routes: bool,
    rbac: RbacMode,
    hsm_admins: Vec<String>,
    hsm_challenge_resource: String,
    vaults: Vec<(String, Option<u16>)>,
    hsms: Vec<(String, Option<u16>)>,
    import: Option<crate::seed::Source>,
    max_connections: usize,
    header_timeout: Duration,
    body_timeout: Duration,
    faults: Option<FaultPlan>,
}

/// The longest header or body timeout (deadlines stay far from overflow).
const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            vault_port: 0,
            hsm_port: 0,
            proxy_port: 0,
            data_dir: None,
            tls: TlsSource::InMemory,
            auth: AuthMode::Any,
            challenge_resource: VAULT_RESOURCE.into(),
            tenant_id: None,
            identities: Vec::new(),
            retention_days: 90,
            purge_protection: false,
            clock: Clock::new(),
            admin_routes: true,
            rbac: RbacMode::Off,
            hsm_admins: Vec::new(),
            hsm_challenge_resource: HSM_RESOURCE.into(),
            vaults: Vec::new(),
            hsms: Vec::new(),
            import: None,
            max_connections: server::DEFAULT_MAX_CONNECTIONS,
            header_timeout: server::DEFAULT_HEADER_TIMEOUT,
            body_timeout: server::DEFAULT_BODY_TIMEOUT,
            faults: None,
        }
    }
}

impl EmulatorBuilder {
    /// The address to listen on (default `127.0.0.1`; with a loopback address
    /// the other loopback family is bound too when it can be).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The (first) vault endpoint's port; 0 (the default) picks a free one.
    pub fn vault_port(mut self, port: u16) -> Self {
        self.vault_port = port;
        self
    }

    /// The (first) Managed HSM endpoint's port; 0 (the default) picks a free one.
    pub fn hsm_port(mut self, port: u16) -> Self {
        self.hsm_port = port;
        self
    }

    /// Adds a vault named `name` (repeatable). Each vault keeps its own
    /// secrets and has an endpoint of its own: the first on
    /// [`vault_port`](Self::vault_port), the others on free ports (or see
    /// [`vault_on_port`](Self::vault_on_port)), and, through the
    /// [proxy](Self::proxy_port), `https://<name>.vault.azure.net`.
    ///
    /// Names follow Azure's rules (3 to 24 letters, digits and single
    /// hyphens, starting with a letter) and are not case-sensitive. Without
    /// any, the emulator has one vault named [`DEFAULT_NAME`], which the
    /// proxy serves under every `<name>.vault.azure.net`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), keyvault_emulator::Error> {
    /// let emulator = keyvault_emulator::Emulator::builder()
    ///     .vault("billing")
    ///     .vault("orders")
    ///     .start()
    ///     .await?;
    /// let billing = emulator.vault_url_named("billing");
    /// assert!(billing.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn vault(mut self, name: impl Into<String>) -> Self {
        self.vaults.push((name.into(), None));
        self
    }

    /// Adds a vault named `name` (see [`vault`](Self::vault)) on `port`
    /// (0 picks a free one).
    pub fn vault_on_port(mut self, name: impl Into<String>, port: u16) -> Self {
        self.vaults.push((name.into(), Some(port)));
        self
    }

    /// Adds a Managed HSM named `name` (repeatable), as
    /// [`vault`](Self::vault) does for vaults: its own keys, roles, settings
    /// and jobs, its own endpoint (the first on [`hsm_port`](Self::hsm_port)),
    /// and `https://<name>.managedhsm.azure.net` through the proxy.
    pub fn hsm(mut self, name: impl Into<String>) -> Self {
        self.hsms.push((name.into(), None));
        self
    }

    /// Adds a Managed HSM named `name` (see [`hsm`](Self::hsm)) on `port`
    /// (0 picks a free one).
    pub fn hsm_on_port(mut self, name: impl Into<String>, port: u16) -> Self {
        self.hsms.push((name.into(), Some(port)));
        self
    }

    /// The port of the HTTPS proxy that serves the endpoints by Azure host
    /// names (`https://<name>.vault.azure.net`, `https://<name>.managedhsm.azure.net`)
    /// to apps whose `HTTPS_PROXY` points to it; 0 (the default) picks a
    /// free one.
    pub fn proxy_port(mut self, port: u16) -> Self {
        self.proxy_port = port;
        self
    }

    /// Keep state durably in this directory (default: in memory only).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Keep the generated CA and server certificate in this directory,
    /// generating them the first time and reusing them afterwards.
    pub fn tls_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.tls = TlsSource::Dir(dir.into());
        self
    }

    /// Serve this PEM certificate chain and key instead of generated ones.
    pub fn tls_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls = TlsSource::Files {
            cert: cert.into(),
            key: key.into(),
        };
        self
    }

    /// Generate certificates in memory and write nothing (the default).
    pub fn tls_in_memory(mut self) -> Self {
        self.tls = TlsSource::InMemory;
        self
    }

    /// How requests are authenticated (default [`AuthMode::Any`]).
    pub fn auth(mut self, mode: AuthMode) -> Self {
        self.auth = mode;
        self
    }

    /// The `resource` of the vault's 401 challenge (default
    /// `https://vault.azure.net`).
    pub fn challenge_resource(mut self, resource: impl Into<String>) -> Self {
        self.challenge_resource = resource.into();
        self
    }

    /// The tenant named in the challenge's `authorization` URL and in the
    /// tokens the emulator issues (default [`DEFAULT_TENANT_ID`]).
    ///
    /// [`DEFAULT_TENANT_ID`]: crate::DEFAULT_TENANT_ID
    pub fn tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant.into());
        self
    }

    /// Declares a user-assigned managed identity, which apps select by
    /// `client_id` or `object_id` at the identity endpoint (repeatable;
    /// the system-assigned identity is always there).
    pub fn user_assigned_identity(
        mut self,
        client_id: impl Into<String>,
        object_id: impl Into<String>,
    ) -> Self {
        self.identities.push((client_id.into(), object_id.into()));
        self
    }

    /// Days a deleted secret stays recoverable, 7 to 90 (default 90).
    pub fn soft_delete_retention_days(mut self, days: u32) -> Self {
        self.retention_days = days;
        self
    }

    /// Refuse purges with 403, like a vault with purge protection.
    pub fn purge_protection(mut self, on: bool) -> Self {
        self.purge_protection = on;
        self
    }

    /// Use this clock (share it with a test to read or move time).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Serve the `/_emulator/` admin routes (default on).
    pub fn admin_routes(mut self, on: bool) -> Self {
        self.admin_routes = on;
        self
    }

    /// Whether the Managed HSM endpoint enforces role-based access control
    /// (default [`RbacMode::Off`]). [`RbacMode::Enforce`] needs
    /// [`AuthMode::Jwt`]: the caller is the token's `oid`, and a call its role
    /// assignments do not allow gets `403 ForbiddenByRbac`.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), keyvault_emulator::Error> {
    /// use keyvault_emulator::{AuthMode, Emulator, RbacMode};
    ///
    /// let emulator = Emulator::builder()
    ///     .auth(AuthMode::Jwt)
    ///     .rbac(RbacMode::Enforce)
    ///     // This object id may manage roles and run backups from the start.
    ///     .hsm_admin("00000000-0000-0000-0000-00000000a0a0")
    ///     .start()
    ///     .await?;
    /// println!("Managed HSM at {}", emulator.hsm_url());
    /// # Ok(())
    /// # }
    /// ```
    pub fn rbac(mut self, mode: RbacMode) -> Self {
        self.rbac = mode;
        self
    }

    /// Makes the object id `oid` a Managed HSM Administrator at scope `/`
    /// (repeatable), like the initial administrators of a new HSM.
    pub fn hsm_admin(mut self, oid: impl Into<String>) -> Self {
        self.hsm_admins.push(oid.into());
        self
    }

    /// The `resource` of the HSM endpoint's 401 challenge (default
    /// `https://managedhsm.azure.net`).
    pub fn hsm_challenge_resource(mut self, resource: impl Into<String>) -> Self {
        self.hsm_challenge_resource = resource.into();
        self
    }

    /// Imports this file at start-up (see the README's "Seeding and export"):
    /// secrets, keys, custom roles, role assignments and settings. A bad
    /// file stops the start with an error that names the entry and field.
    pub fn import_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.import = Some(crate::seed::Source::File(path.into()));
        self
    }

    /// Imports this document at start-up, like [`import_file`](Self::import_file).
    pub fn import_json(mut self, json: impl Into<String>) -> Self {
        self.import = Some(crate::seed::Source::Json(json.into().into()));
        self
    }

    /// The most connections the vault and HSM endpoints hold open together
    /// (default 1024). A connection beyond it is closed as soon as it is
    /// accepted, before anything is read from it, so a client may safely
    /// try again; the open connections are served as before.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// How long a client has to finish the TLS handshake (10 seconds at
    /// most) and to send a request's head, counted from the handshake or
    /// from the end of its previous request (default 30 seconds). A
    /// connection that sends nothing, or its head too slowly, is closed;
    /// so is one left idle for that long. The body has a timeout of its
    /// own ([`EmulatorBuilder::body_timeout`]).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// How long a client has to send a request's whole body, counted from
    /// the end of its head (default 10 seconds); a body that takes longer
    /// is answered `408 RequestTimeout` and nothing is done.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Injects faults into the service requests of every vault and HSM
    /// endpoint by this plan (see [`FaultPlan`]); `PUT` and `DELETE
    /// /_emulator/faults` change it while the emulator runs, and
    /// [`EmulatorHandle::fault_counts`] says what was injected.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), keyvault_emulator::Error> {
    /// use keyvault_emulator::{Emulator, FaultPlan};
    ///
    /// // 10% of the requests get a fault, spread over every kind.
    /// let emulator = Emulator::builder()
    ///     .faults(FaultPlan::new(42).with_rate(0.1))
    ///     .start()
    ///     .await?;
    /// println!("{} faults so far", emulator.fault_counts().total());
    /// # Ok(())
    /// # }
    /// ```
    pub fn faults(mut self, plan: FaultPlan) -> Self {
        self.faults = Some(plan);
        self
    }

    /// Starts the emulator on the current Tokio runtime.
    ///
    /// # Errors
    ///
    /// Invalid options ([`ErrorKind::Config`]), ports that cannot be bound or
    /// directories that cannot be used ([`ErrorKind::Io`]), certificates that
    /// cannot be made or read ([`ErrorKind::Tls`]), or a data directory whose
    /// database cannot be opened ([`ErrorKind::Store`]).
    pub async fn start(self) -> Result<EmulatorHandle, Error> {
        if !(7..=90).contains(&self.retention_days) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "soft-delete retention must be 7 to 90 days, not {}",
                    self.retention_days
                ),
            ));
        }
        if self.rbac == RbacMode::Enforce && !matches!(self.auth, AuthMode::Jwt | AuthMode::Strict)
        {
            return Err(Error::new(
                ErrorKind::Config,
                "RBAC enforcement needs JWT authentication (--auth jwt or strict): the caller is the token's oid",
            ));
        }
        if let Some(bad) = self.hsm_admins.iter().find(|a| a.trim().is_empty()) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("an HSM administrator must be a non-empty object id, not {bad:?}"),
            ));
        }
        let timeouts = [self.header_timeout, self.body_timeout];
        if self.max_connections == 0 || timeouts.iter().any(|t| t.is_zero() || *t > MAX_TIMEOUT) {
            return Err(Error::new(
                ErrorKind::Config,
                "the connection limit must be above zero, and the header and body timeouts above zero and at most a day",
            ));
        }
        if let Some(plan) = &self.faults {
            plan.check()
                .map_err(|e| Error::new(ErrorKind::Config, format!("fault plan: {e}")))?;
        }
        let vault_names = names("vault", &self.vaults)?;
        let hsm_names = names("Managed HSM", &self.hsms)?;
        let tls_source = self.tls.clone();
        let data_dir = self.data_dir.clone();
        let (tls, store) = tokio::task::spawn_blocking(move || {
            let tls = tls::load(&tls_source)?;
            let store = match &data_dir {
                Some(dir) => Store::open(dir)?,
                None => Store::in_memory(),
            };
            Ok::<_, Error>((tls, store))
        })
        .await
        .map_err(|e| Error::with_source(ErrorKind::Io, "startup task failed", e))??;
        let store = Arc::new(store);
        let backup_key = backup_key(&store)?;
        let admin = Arc::new(Admin::new(self.clock.clone(), store.clone())?);
        admin.faults.set(self.faults.clone());
        let tenant = self
            .tenant_id
            .clone()
            .unwrap_or_else(|| crate::DEFAULT_TENANT_ID.to_owned());
        let identities = Arc::new(Identities::new(
            tenant.clone(),
            self.identities.clone(),
            self.data_dir.as_deref(),
        ));
        let soft_delete = Retention {
            retention_days: self.retention_days,
            purge_protection: self.purge_protection,
        };
        let vaults = (vault_names.iter())
            .map(|(name, _)| {
                let clock = self.clock.clone();
                Vault::open(name, store.clone(), clock, soft_delete, backup_key)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let config = HsmConfig {
            soft_delete,
            rbac: self.rbac,
            admins: crate::hsm::dedup(&self.hsm_admins),
            storage: crate::hsm::StorageConfig {
                ca_pem: Some(tls.ca_pem.clone()),
                identities: Some(identities.clone()),
            },
        };
        let hsms = (hsm_names.iter())
            .map(|(name, _)| {
                let (clock, config) = (self.clock.clone(), config.clone());
                Hsm::open(name, store.clone(), clock, config, backup_key)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let services = crate::seed::Services {
            vaults: vault_names
                .iter()
                .map(|n| n.0.clone())
                .zip(vaults.iter().cloned())
                .collect(),
            hsms: hsm_names
                .iter()
                .map(|n| n.0.clone())
                .zip(hsms.iter().cloned())
                .collect(),
        };
        crate::seed::wire(self.import.as_ref(), &admin, services)?;
        if self.rbac == RbacMode::Enforce {
            // The export holds every HSM's keys: only for who may back up all.
            let guarded: Vec<_> = hsms.iter().map(Arc::downgrade).collect();
            admin.guard_export(Box::new(move |caller| {
                (guarded.iter().filter_map(Weak::upgrade))
                    .try_for_each(|h| h.authorize_export(caller))
            }));
        }
        let weak: (Vec<_>, Vec<_>) = (
            vaults.iter().map(Arc::downgrade).collect(),
            hsms.iter().map(Arc::downgrade).collect(),
        );
        admin.on_advance(Box::new(move || {
            weak.0
                .iter()
                .filter_map(Weak::upgrade)
                .for_each(|v| v.sweep());
            weak.1
                .iter()
                .filter_map(Weak::upgrade)
                .for_each(|h| h.sweep());
        }));
        let auth = |resource: &str| Authenticator {
            mode: self.auth,
            tenant_id: tenant.clone(),
            resource: resource.to_owned(),
            identities: identities.clone(),
        };
        let routes_admin = self.admin_routes.then(|| admin.clone());
        let url_host = url_host(&self.host);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let limits =
            server::Limits::new(self.max_connections, self.header_timeout, self.body_timeout);
        let mut tasks = Vec::new();
        let mut bind = async |endpoint: &'static str, port: u16, handler| {
            let bind_err = |e| {
                let message = format!("cannot listen on {}:{port}", self.host);
                Error::with_source(ErrorKind::Io, message, e)
            };
            let listeners = server::bind(&self.host, port).await.map_err(bind_err)?;
            let addr = listeners.listeners[0].local_addr().map_err(bind_err)?;
            let authority = format!("{url_host}:{}", addr.port());
            let url = format!("https://{authority}/");
            let (tls, rx) = (tls.config.clone(), shutdown_rx.clone());
            tasks.push(tokio::spawn(server::serve(
                endpoint,
                listeners,
                tls,
                handler,
                authority,
                limits.clone(),
                rx,
            )));
            Ok::<_, Error>((url, addr))
        };
        let mut served_vaults = Vec::new();
        for (i, ((name, port), vault)) in vault_names.into_iter().zip(vaults).enumerate() {
            let port = port.unwrap_or(if i == 0 { self.vault_port } else { 0 });
            let handler = service::endpoint(
                vault.clone(),
                routes_admin.clone(),
                identities.clone(),
                auth(&self.challenge_resource),
            );
            let (url, addr) = bind("vault", port, admin.faults.wrap(handler, spared)).await?;
            served_vaults.push(Served {
                name,
                url,
                addr,
                service: vault,
            });
        }
        let mut served_hsms = Vec::new();
        for (i, ((name, port), hsm)) in hsm_names.into_iter().zip(hsms).enumerate() {
            let port = port.unwrap_or(if i == 0 { self.hsm_port } else { 0 });
            let handler = service::endpoint(
                hsm.clone(),
                routes_admin.clone(),
                identities.clone(),
                auth(&self.hsm_challenge_resource),
            );
            let (url, addr) = bind("hsm", port, admin.faults.wrap(handler, spared)).await?;
            served_hsms.push(Served {
                name,
                url,
                addr,
                service: hsm,
            });
        }
        let proxy = server::bind(&self.host, self.proxy_port)
            .await
            .map_err(|e| {
                let message = format!("cannot listen on {}:{}", self.host, self.proxy_port);
                Error::with_source(ErrorKind::Io, message, e)
            })?;
        let proxy_url = format!("http://{url_host}:{}", proxy.port);
        let targets = proxy::Targets {
            vaults: named_targets(&served_vaults, !self.vaults.is_empty()),
            hsms: named_targets(&served_hsms, !self.hsms.is_empty()),
        };
        tasks.push(tokio::spawn(proxy::serve(
            proxy,
            Arc::new(targets),
            shutdown_rx.clone(),
        )));
        // Purges what becomes due as wall-clock time passes.
        let weak = Arc::downgrade(&admin);
        let mut rx = shutdown_rx;
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = rx.changed() => return,
                    _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                }
                let Some(admin) = weak.upgrade() else { return };
                let _ = tokio::task::spawn_blocking(move || admin.sweep()).await;
            }
        }));
        let (vault_url, hsm_url) = (&served_vaults[0].url, &served_hsms[0].url);
        tracing::info!(%vault_url, %hsm_url, "emulator started");
        Ok(EmulatorHandle {
            vaults: served_vaults,
            hsms: served_hsms,
            proxy_url,
            ca_pem: tls.ca_pem,
            ca_path: tls.ca_path,
            identities,
            admin: Some(admin),
            shutdown_tx,
            tasks,
        })
    }
}

/// The requests fault injection spares: the `/_emulator/` routes and the
/// identity endpoints.
fn spared(req: &server::Request) -> bool {
    use crate::identity::{APP_SERVICE_PATH, IMDS_PATH, JWKS_PATH, OPENID_SUFFIX};
    let path = req.path.trim_end_matches('/');
    req.path.starts_with(crate::admin::PREFIX)
        || path.ends_with(OPENID_SUFFIX)
        || [APP_SERVICE_PATH, IMDS_PATH, JWKS_PATH]
            .iter()
            .any(|p| path.eq_ignore_ascii_case(p))
}

/// Checks and lower-cases the names of the vaults (or HSMs); no names
/// stand for one named [`DEFAULT_NAME`].
fn names(kind: &str, given: &[(String, Option<u16>)]) -> Result<Vec<(String, Option<u16>)>, Error> {
    if given.is_empty() {
        return Ok(vec![(DEFAULT_NAME.to_owned(), None)]);
    }
    let mut out: Vec<(String, Option<u16>)> = Vec::new();
    for (name, port) in given {
        let lower = name.to_ascii_lowercase();
        let b = lower.as_bytes();
        let valid = (3..=24).contains(&b.len())
            && b[0].is_ascii_lowercase()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && !lower.contains("--");
        if !valid {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{kind} name {name:?} is not valid: 3 to 24 letters, digits and single hyphens, starting with a letter and ending with a letter or digit"
                ),
            ));
        }
        if out.iter().any(|(n, _)| *n == lower) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("{kind} name {name:?} is given twice"),
            ));
        }
        out.push((lower, *port));
    }
    Ok(out)
}

/// The proxy's targets for `served`: by name, and under any name when the
/// one endpoint was not named.
fn named_targets<S>(served: &[Served<S>], named: bool) -> proxy::Named {
    proxy::Named {
        by_name: served.iter().map(|s| (s.name.clone(), s.addr)).collect(),
        any: (!named).then(|| served[0].addr),
    }
}

/// A vault or HSM being served.
#[derive(Debug)]
struct Served<S> {
    name: String,
    url: String,
    addr: SocketAddr,
    service: Arc<S>,
}

/// The host name used in URLs: `localhost` for loopback and wildcard
/// addresses (the certificate names it), the host itself otherwise.
fn url_host(host: &str) -> String {
    match host {
        "127.0.0.1" | "::1" | "localhost" | "0.0.0.0" | "::" => "localhost".into(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.into(),
    }
}

/// The emulator's backup key: persisted with the data directory, random in
/// memory.
fn backup_key(store: &Store) -> Result<[u8; 32], Error> {
    if let Some(raw) = store.get(META, "backup_key")?
        && let Ok(key) = <[u8; 32]>::try_from(raw.as_slice())
    {
        return Ok(key);
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    store.commit(vec![Op::Put(META, "backup_key".into(), key.to_vec())])?;
    Ok(key)
}

/// A running emulator. Dropping it stops the servers in the background;
/// [`EmulatorHandle::shutdown`] stops them and waits.
#[derive(Debug)]
pub struct EmulatorHandle {
    /// Never empty.
    vaults: Vec<Served<Vault>>,
    /// Never empty.
    hsms: Vec<Served<Hsm>>,
    proxy_url: String,
    ca_pem: String,
    ca_path: Option<PathBuf>,
    identities: Arc<Identities>,
    admin: Option<Arc<Admin>>,
    shutdown_tx: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// The managed-identity token endpoint (App Service protocol), for
    /// `IDENTITY_ENDPOINT`, e.g. `https://localhost:8443/msi/token`.
    pub fn identity_endpoint(&self) -> String {
        format!(
            "{}{}",
            self.vault_url(),
            &crate::identity::APP_SERVICE_PATH[1..]
        )
    }

    /// The secret apps send with each token request, for `IDENTITY_HEADER`.
    pub fn identity_header(&self) -> &str {
        self.identities.header_secret()
    }

    /// The base URL of the instance-metadata (IMDS) token endpoint, e.g.
    /// `https://localhost:8443`, for SDKs whose IMDS host can be overridden;
    /// tokens are at `/metadata/identity/oauth2/token` below it.
    pub fn imds_endpoint(&self) -> &str {
        self.vault_url().trim_end_matches('/')
    }

    /// The (first) vault's endpoint, e.g. `https://localhost:8443/`.
    pub fn vault_url(&self) -> &str {
        &self.vaults[0].url
    }

    /// The (first) Managed HSM's endpoint, e.g. `https://localhost:8444/`.
    pub fn hsm_url(&self) -> &str {
        &self.hsms[0].url
    }

    /// The names of the vaults, the first one first (lower case).
    pub fn vault_names(&self) -> impl Iterator<Item = &str> {
        self.vaults.iter().map(|v| v.name.as_str())
    }

    /// The names of the Managed HSMs, the first one first (lower case).
    pub fn hsm_names(&self) -> impl Iterator<Item = &str> {
        self.hsms.iter().map(|h| h.name.as_str())
    }

    /// The endpoint of the vault named `name` (not case-sensitive).
    pub fn vault_url_named(&self, name: &str) -> Option<&str> {
        (self.vaults.iter())
            .find(|v| v.name.eq_ignore_ascii_case(name))
            .map(|v| v.url.as_str())
    }

    /// The endpoint of the Managed HSM named `name` (not case-sensitive).
    pub fn hsm_url_named(&self, name: &str) -> Option<&str> {
        (self.hsms.iter())
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.url.as_str())
    }

    /// The HTTPS proxy (`HTTPS_PROXY`), e.g. `http://localhost:8442`: through
    /// it, [`vault_host_url`](Self::vault_host_url) and
    /// [`hsm_host_url`](Self::hsm_host_url) reach this emulator.
    pub fn proxy_url(&self) -> &str {
        &self.proxy_url
    }

    /// The (first) vault's endpoint under an Azure host name, reached
    /// through the [`proxy_url`](Self::proxy_url), e.g.
    /// `https://emulator.vault.azure.net/` (when no vault was named, any
    /// `<name>.vault.azure.net` reaches it). Official SDKs verify its
    /// challenge with their default options.
    pub fn vault_host_url(&self) -> String {
        format!("https://{}.{}/", self.vaults[0].name, proxy::VAULT_DOMAIN)
    }

    /// The (first) Managed HSM's endpoint under an Azure host name, reached
    /// through the [`proxy_url`](Self::proxy_url), e.g.
    /// `https://emulator.managedhsm.azure.net/`.
    pub fn hsm_host_url(&self) -> String {
        format!("https://{}.{}/", self.hsms[0].name, proxy::HSM_DOMAIN)
    }

    /// The address the (first) vault's endpoint listens on.
    pub fn vault_addr(&self) -> SocketAddr {
        self.vaults[0].addr
    }

    /// The address the (first) HSM's endpoint listens on.
    pub fn hsm_addr(&self) -> SocketAddr {
        self.hsms[0].addr
    }

    /// The PEM of the certificate clients must trust.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Where that PEM is on disk (`None` with in-memory certificates).
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.ca_path.as_deref()
    }

    /// The emulator's clock.
    pub fn clock(&self) -> Clock {
        self.admin
            .as_ref()
            .map(|a| a.clock.clone())
            .unwrap_or_default()
    }

    /// Moves the virtual clock forward and purges deleted secrets and keys
    /// whose purge date has passed. Returns the new time (Unix seconds). With a data
    /// directory the new offset is stored first; if it cannot be, the clock
    /// does not move (the failure is logged).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), keyvault_emulator::Error> {
    /// use std::time::Duration;
    ///
    /// let emulator = keyvault_emulator::Emulator::builder().start().await?;
    /// let before = emulator.clock().now();
    /// let after = emulator.advance_clock(Duration::from_secs(91 * 86_400)).await;
    /// assert!(after >= before + 91 * 86_400);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn advance_clock(&self, by: Duration) -> i64 {
        let Some(admin) = self.admin.clone() else {
            return 0;
        };
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        let clock = admin.clock.clone();
        match tokio::task::spawn_blocking(move || admin.advance(secs)).await {
            Ok(Ok(now)) => now,
            // Not stored (logged): the clock did not move.
            _ => clock.now(),
        }
    }

    /// What fault injection did since the plan was set: service requests
    /// seen and faults injected by kind.
    pub fn fault_counts(&self) -> FaultCounts {
        self.admin
            .as_ref()
            .map(|a| a.faults.counts())
            .unwrap_or_default()
    }

    /// Replaces the fault plan (`None`: no faults) and resets the counters,
    /// as `PUT` or `DELETE /_emulator/faults` do.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a plan whose fractions or timings are out
    /// of range; the plan in force does not change.
    pub fn set_fault_plan(&self, plan: Option<FaultPlan>) -> Result<(), Error> {
        if let Some(p) = &plan {
            p.check()
                .map_err(|e| Error::new(ErrorKind::Config, format!("fault plan: {e}")))?;
        }
        if let Some(admin) = &self.admin {
            admin.faults.set(plan);
        }
        Ok(())
    }

    /// The first line the binary prints: a JSON object with `vault_url` and
    /// `hsm_url` (the first ones), `ca_cert` (the path, or `null` in memory),
    /// `proxy_url`, `vaults` and `hsms` (each name's Azure host URL, reached
    /// through the proxy), `vault_urls` and `hsm_urls` (each name's own
    /// endpoint), the identity endpoint and header, and `version`.
    pub fn startup_json(&self) -> String {
        let urls = |domain: &str, served: &mut dyn Iterator<Item = &str>| {
            let m = served.map(|n| (n.to_owned(), format!("https://{n}.{domain}/").into()));
            serde_json::Value::Object(m.collect())
        };
        let own = |served: &mut dyn Iterator<Item = (&str, &str)>| {
            let m = served.map(|(n, u)| (n.to_owned(), u.into()));
            serde_json::Value::Object(m.collect())
        };
        serde_json::json!({
            "vault_url": self.vault_url(),
            "hsm_url": self.hsm_url(),
            "ca_cert": self.ca_path.as_ref().map(|p| p.display().to_string()),
            "proxy_url": self.proxy_url,
            "vaults": urls(proxy::VAULT_DOMAIN, &mut self.vault_names()),
            "hsms": urls(proxy::HSM_DOMAIN, &mut self.hsm_names()),
            "vault_urls": own(&mut self.vaults.iter().map(|v| (v.name.as_str(), v.url.as_str()))),
            "hsm_urls": own(&mut self.hsms.iter().map(|h| (h.name.as_str(), h.url.as_str()))),
            "identity_endpoint": self.identity_endpoint(),
            "identity_header": self.identity_header(),
            "version": crate::VERSION,
        })
        .to_string()
    }

    /// Stops accepting connections, lets open requests finish (a few
    /// seconds at most) and closes the store. Every acknowledged write was
    /// already durable.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
        self.vaults.clear();
        for hsm in std::mem::take(&mut self.hsms) {
            hsm.service.stop_jobs().await;
        }
        self.admin.take();
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("127.0.0.1"), "localhost");
        assert_eq!(url_host("0.0.0.0"), "localhost");
        assert_eq!(url_host("10.1.2.3"), "10.1.2.3");
        assert_eq!(url_host("fe80::1"), "[fe80::1]");
    }
}
