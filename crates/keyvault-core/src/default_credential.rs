//! [`DefaultAzureCredential`]: this crate's own chain of `azure_identity`
//! credentials, for code that should run unchanged on a developer's machine,
//! in a pipeline, on Kubernetes and on an Azure host.
//!
//! `azure_identity` 1.x has no default chain of its own (it has
//! `DeveloperToolsCredential`, the last two links of this one). The chain is
//! made of its credentials; what is ours is the order, which links apply, the
//! bounded probe of the instance metadata service, remembering the link that
//! worked, and the one error that says why each link did not.

use std::{
    collections::HashMap,
    fmt,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions},
};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzureDeveloperCliCredential,
    AzureDeveloperCliCredentialOptions, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};

use crate::{ClientOptions, Result};

/// Where a virtual machine's managed identity answers (the instance metadata
/// service); `azure_identity` 1.x has it built in and offers no override.
const IMDS_TOKEN_URL: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// The links of [`DefaultAzureCredential`], in the order it tries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// A service principal from `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and
    /// `AZURE_CLIENT_SECRET` (`azure_identity::ClientSecretCredential`), or
    /// `AZURE_CLIENT_CERTIFICATE_PATH` (a PKCS #12 file, with
    /// `AZURE_CLIENT_CERTIFICATE_PASSWORD` if it has one;
    /// `azure_identity::ClientCertificateCredential`, which needs this
    /// crate's `client_certificate` feature, as it uses OpenSSL).
    Environment,
    /// A Kubernetes workload identity: `AZURE_FEDERATED_TOKEN_FILE`,
    /// `AZURE_CLIENT_ID` and `AZURE_TENANT_ID`
    /// (`azure_identity::WorkloadIdentityCredential`).
    WorkloadIdentity,
    /// The managed identity of an Azure host
    /// (`azure_identity::ManagedIdentityCredential`): App Service's
    /// `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`, or else the instance metadata
    /// service (IMDS), probed first with a short timeout.
    ManagedIdentity,
    /// The account signed in to the Azure CLI (`az`).
    AzureCli,
    /// The account signed in to the Azure Developer CLI (`azd`).
    AzureDeveloperCli,
}

impl CredentialKind {
    /// Every link, in the chain's order.
    pub const ALL: [Self; 5] = [
        Self::Environment,
        Self::WorkloadIdentity,
        Self::ManagedIdentity,
        Self::AzureCli,
        Self::AzureDeveloperCli,
    ];

    /// The link's name in messages, e.g. `ManagedIdentityCredential`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Environment => "EnvironmentCredential",
            Self::WorkloadIdentity => "WorkloadIdentityCredential",
            Self::ManagedIdentity => "ManagedIdentityCredential",
            Self::AzureCli => "AzureCliCredential",
            Self::AzureDeveloperCli => "AzureDeveloperCliCredential",
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A user-assigned managed identity, for hosts that have several.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagedIdentityId {
    /// The identity's client (application) id.
    ClientId(String),
    /// The identity's object (principal) id.
    ObjectId(String),
    /// The identity's Azure resource id (not on App Service).
    ResourceId(String),
}

impl ManagedIdentityId {
    /// As `azure_identity` names it (kept out of our public API).
    fn into_user_assigned(self) -> UserAssignedId {
        match self {
            Self::ClientId(id) => UserAssignedId::ClientId(id),
            Self::ObjectId(id) => UserAssignedId::ObjectId(id),
            Self::ResourceId(id) => UserAssignedId::ResourceId(id),
        }
    }
}

/// Options of [`DefaultAzureCredential::new`].
///
/// ```
/// use keyvault_core::{CredentialKind, DefaultAzureCredentialOptions};
///
/// // Never ask the developer tools, even where they are installed.
/// let options = DefaultAzureCredentialOptions {
///     exclude: vec![CredentialKind::AzureCli, CredentialKind::AzureDeveloperCli],
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct DefaultAzureCredentialOptions {
    /// Links the chain leaves out. Default: none.
    pub exclude: Vec<CredentialKind>,
    /// The user-assigned identity the managed identity link asks for.
    /// Default: the client id in `AZURE_CLIENT_ID`, if set, else the host's
    /// system-assigned identity.
    pub managed_identity: Option<ManagedIdentityId>,
    /// The tenant the Azure CLI and Azure Developer CLI links ask a token of
    /// (`--tenant`). Default: their signed-in account's tenant.
    pub tenant_id: Option<String>,
    /// The transport of the links that make HTTP requests, as
    /// [`credential_transport`](crate::credential_transport) builds it:
    /// trusted roots, `SSL_CERT_FILE`, `HTTPS_PROXY`.
    pub client_options: ClientOptions,
    /// The variables the environment and workload identity links (and the
    /// `AZURE_AUTHORITY_HOST` and `AZURE_CLIENT_ID` they share with others)
    /// read, instead of the process environment. Default `None`: the
    /// process environment. The managed identity link and the CLIs read the
    /// process environment always: `azure_identity` 1.x takes the App Service
    /// endpoint and the CLIs' `PATH` from nowhere else.
    pub environment: Option<HashMap<String, String>>,
    /// How long the first request to the instance metadata service may take
    /// before the managed identity link is skipped (when no App Service
    /// endpoint is set). Default 1 second, as in the other Azure SDKs: off
    /// Azure, nothing answers at that address and the chain moves on.
    pub imds_probe_timeout: Duration,
    /// How long the Azure CLI or Azure Developer CLI may take to give a
    /// token. Default 10 seconds. (A CLI still running then is left to end
    /// on its own; its answer is not used.)
    pub developer_tools_timeout: Duration,
}

impl Default for DefaultAzureCredentialOptions {
    fn default() -> Self {
        Self {
            exclude: Vec::new(),
            managed_identity: None,
            tenant_id: None,
            client_options: ClientOptions::default(),
            environment: None,
            imds_probe_timeout: Duration::from_secs(1),
            developer_tools_timeout: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for DefaultAzureCredentialOptions {
    /// Names the variables of [`environment`](Self::environment), never
    /// their values (one may be a client secret).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Option<Vec<&str>> = self
            .environment
            .as_ref()
            .map(|vars| vars.keys().map(String::as_str).collect());
        if let Some(names) = &mut names {
            names.sort_unstable();
        }
        f.debug_struct("DefaultAzureCredentialOptions")
            .field("exclude", &self.exclude)
            .field("managed_identity", &self.managed_identity)
            .field("tenant_id", &self.tenant_id)
            .field("client_options", &self.client_options)
            .field("environment", &names)
            .field("imds_probe_timeout", &self.imds_probe_timeout)
            .field("developer_tools_timeout", &self.developer_tools_timeout)
            .finish()
    }
}

/// Our own default credential chain over `azure_identity`'s credentials
/// (which has none in its 1.x releases): it tries, in order, the
/// [`CredentialKind`]s — a service principal from the environment, a
/// workload identity, a managed identity, the Azure CLI, the Azure Developer
/// CLI — and uses the first that gives a token for every later request,
/// without trying the others again.
///
/// When none gives a token, the one error names every link and why it was
/// skipped (not configured here) or failed; it never contains a secret.
/// Off Azure the managed identity link costs at most
/// [`imds_probe_timeout`](DefaultAzureCredentialOptions::imds_probe_timeout).
///
/// ```no_run
/// # async fn demo() -> keyvault_core::Result<()> {
/// use keyvault_core::{DefaultAzureCredential, TokenCredential};
///
/// let credential = DefaultAzureCredential::new(None)?;
/// let token = credential.get_token(&["https://vault.azure.net/.default"], None).await;
/// println!("{:?}", credential.selected());
/// # let _ = token; Ok(()) }
/// ```
pub struct DefaultAzureCredential {
    links: Vec<Link>,
    /// The index of the link that gave the first token; `usize::MAX` before.
    selected: AtomicUsize,
}

struct Link {
    kind: CredentialKind,
    credential: std::result::Result<Arc<dyn TokenCredential>, String>,
    /// The instance metadata service must answer before the link is asked.
    probe: Option<ImdsProbe>,
    /// The most a token may take (the CLIs).
    timeout: Option<Duration>,
}

struct ImdsProbe {
    client: reqwest::Client,
    timeout: Duration,
    answered: AtomicBool,
}

impl DefaultAzureCredential {
    /// Builds the chain. A link that does not apply here (its variables are
    /// not set, `azure_identity` refuses them) is not an error: it is skipped
    /// at the first token request, with the reason in the error if every
    /// link fails.
    ///
    /// # Errors
    /// The [`client_options`](DefaultAzureCredentialOptions::client_options)
    /// hold roots that are not valid PEM.
    pub fn new(options: Option<DefaultAzureCredentialOptions>) -> Result<Arc<Self>> {
        let options = options.unwrap_or_default();
        let env = Env(options.environment.as_ref());
        let mut links = Vec::new();
        for kind in CredentialKind::ALL {
            if options.exclude.contains(&kind) {
                continue;
            }
            let link = match kind {
                CredentialKind::Environment => Link::new(kind, environment(&env, &options)?),
                CredentialKind::WorkloadIdentity => {
                    Link::new(kind, workload_identity(&env, &options)?)
                }
                CredentialKind::ManagedIdentity => managed_identity(&env, &options)?,
                CredentialKind::AzureCli => {
                    let cli = AzureCliCredential::new(Some(AzureCliCredentialOptions {
                        tenant_id: options.tenant_id.clone(),
                        ..Default::default()
                    }));
                    Link::developer_tool(kind, cli, &options)
                }
                CredentialKind::AzureDeveloperCli => {
                    let azd = AzureDeveloperCliCredential::new(Some(
                        AzureDeveloperCliCredentialOptions {
                            tenant_id: options.tenant_id.clone(),
                            ..Default::default()
                        },
                    ));
                    Link::developer_tool(kind, azd, &options)
                }
            };
            links.push(link);
        }
        Ok(Arc::new(Self {
            links,
            selected: AtomicUsize::new(usize::MAX),
        }))
    }

    /// The link that gave the first token, which the chain now always uses;
    /// `None` before.
    pub fn selected(&self) -> Option<CredentialKind> {
        self.links
            .get(self.selected.load(Ordering::Acquire))
            .map(|link| link.kind)
    }
}

impl fmt::Debug for DefaultAzureCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let links: Vec<_> = self.links.iter().map(|link| link.kind).collect();
        f.debug_struct("DefaultAzureCredential")
            .field("links", &links)
            .field("selected", &self.selected())
            .finish()
    }
}

#[async_trait::async_trait]
impl TokenCredential for DefaultAzureCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if let Some(link) = self.links.get(self.selected.load(Ordering::Acquire)) {
            // The chosen credential's own error, as it gave it.
            return link
                .get_token(scopes, options)
                .await
                .map_err(|failure| match failure {
                    Failure::Failed(error) => error,
                    other => azure_core::Error::with_message(
                        azure_core::error::ErrorKind::Credential,
                        format!("DefaultAzureCredential's {}: {other}", link.kind),
                    ),
                });
        }
        let mut reasons = Vec::with_capacity(self.links.len());
        for (index, link) in self.links.iter().enumerate() {
            match link.get_token(scopes, options.clone()).await {
                Ok(token) => {
                    self.selected.store(index, Ordering::Release);
                    tracing::info!(
                        credential = link.kind.name(),
                        "DefaultAzureCredential chose"
                    );
                    return Ok(token);
                }
                Err(failure) => {
                    tracing::debug!(credential = link.kind.name(), %failure, "DefaultAzureCredential moves on");
                    reasons.push(format!("- {}: {failure}", link.kind));
                }
            }
        }
        let reasons = if reasons.is_empty() {
            "- every credential is excluded".to_owned()
        } else {
            reasons.join("\n")
        };
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            format!("DefaultAzureCredential found no credential that gives a token:\n{reasons}"),
        ))
    }
}

impl Link {
    fn new(
        kind: CredentialKind,
        credential: std::result::Result<Arc<dyn TokenCredential>, String>,
    ) -> Self {
        Self {
            kind,
            credential,
            probe: None,
            timeout: None,
        }
    }

    fn developer_tool<C: TokenCredential + 'static>(
        kind: CredentialKind,
        built: azure_core::Result<Arc<C>>,
        options: &DefaultAzureCredentialOptions,
    ) -> Self {
        let credential = built
            .map(|c| c as Arc<dyn TokenCredential>)
            .map_err(|e| refused(&e));
        Self {
            timeout: Some(options.developer_tools_timeout),
            ..Self::new(kind, credential)
        }
    }

    /// A token, or why there is none.
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> std::result::Result<AccessToken, Failure> {
        let credential = match &self.credential {
            Ok(credential) => credential,
            Err(reason) => return Err(Failure::Skipped(reason.clone())),
        };
        if let Some(probe) = &self.probe {
            probe.check().await.map_err(Failure::Skipped)?;
        }
        let token = credential.get_token(scopes, options);
        let result = match self.timeout {
            Some(limit) => tokio::time::timeout(limit, token)
                .await
                .map_err(|_| Failure::TimedOut(limit))?,
            None => token.await,
        };
        result.map_err(Failure::Failed)
    }
}

/// Why a link gave no token.
enum Failure {
    /// It does not apply here (not configured, no endpoint).
    Skipped(String),
    /// It was asked and said no.
    Failed(azure_core::Error),
    /// It was asked and did not answer in time (the CLIs).
    TimedOut(Duration),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Skipped(reason) => write!(f, "skipped: {reason}"),
            Self::Failed(error) => write!(f, "failed: {}", indent(&error.to_string())),
            Self::TimedOut(limit) => {
                write!(f, "failed: no token within {} s", limit.as_secs_f32())
            }
        }
    }
}

impl ImdsProbe {
    /// Whether the instance metadata service answers at all (a request
    /// without its `Metadata` header gets a 400 from it); once it has, it is
    /// not probed again.
    async fn check(&self) -> std::result::Result<(), String> {
        if self.answered.load(Ordering::Acquire) {
            return Ok(());
        }
        let request = self.client.get(IMDS_TOKEN_URL).send();
        match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(_)) => {
                self.answered.store(true, Ordering::Release);
                Ok(())
            }
            Ok(Err(e)) => Err(format!(
                "no managed identity endpoint: IDENTITY_ENDPOINT is not set and the instance \
                 metadata service (169.254.169.254) gave no answer ({})",
                crate::transport::classify(&e).1
            )),
            Err(_) => Err(format!(
                "no managed identity endpoint: IDENTITY_ENDPOINT is not set and the instance \
                 metadata service (169.254.169.254) did not answer within {} ms",
                self.timeout.as_millis()
            )),
        }
    }
}

/// The variables the chain reads: the map of the options, or the process's.
struct Env<'a>(Option<&'a HashMap<String, String>>);

impl Env<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match self.0 {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
        .filter(|v| !v.is_empty())
    }

    /// The values of `names`, or the names of those that are not set.
    fn all<const N: usize>(
        &self,
        names: [&str; N],
    ) -> std::result::Result<[String; N], Vec<String>> {
        let values = names.map(|name| self.var(name));
        let missing: Vec<String> = names
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|(name, _)| (*name).to_owned())
            .collect();
        if missing.is_empty() {
            Ok(values.map(Option::unwrap_or_default))
        } else {
            Err(missing)
        }
    }
}

/// `azure_core` client options over our transport, with the authority host
/// of `AZURE_AUTHORITY_HOST` when the variables set one.
fn azure_client_options(
    env: &Env<'_>,
    options: &DefaultAzureCredentialOptions,
) -> Result<azure_core::http::ClientOptions> {
    let mut client_options = azure_core::http::ClientOptions {
        transport: Some(crate::credential_transport(&options.client_options)?),
        ..Default::default()
    };
    if let Some(host) = env.var("AZURE_AUTHORITY_HOST") {
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = host;
        client_options.cloud = Some(Arc::new(CloudConfiguration::Custom(cloud)));
    }
    Ok(client_options)
}

type Built = std::result::Result<Arc<dyn TokenCredential>, String>;

fn environment(env: &Env<'_>, options: &DefaultAzureCredentialOptions) -> Result<Built> {
    let [tenant, client] = match env.all(["AZURE_TENANT_ID", "AZURE_CLIENT_ID"]) {
        Ok(values) => values,
        Err(missing) => return Ok(Err(not_set(&missing))),
    };
    let client_options = azure_client_options(env, options)?;
    if let Some(secret) = env.var("AZURE_CLIENT_SECRET") {
        let options = ClientSecretCredentialOptions { client_options };
        return Ok(ClientSecretCredential::new(
            &tenant,
            client,
            Secret::new(secret),
            Some(options),
        )
        .map(|c| c as Arc<dyn TokenCredential>)
        .map_err(|e| refused(&e)));
    }
    match env.var("AZURE_CLIENT_CERTIFICATE_PATH") {
        Some(path) => Ok(certificate(
            env,
            tenant,
            client,
            path.into(),
            client_options,
        )),
        None => Ok(Err(
            "neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERTIFICATE_PATH is set".to_owned(),
        )),
    }
}

#[cfg(feature = "client_certificate")]
fn certificate(
    env: &Env<'_>,
    tenant: String,
    client: String,
    path: PathBuf,
    client_options: azure_core::http::ClientOptions,
) -> Built {
    use azure_identity::{ClientCertificateCredential, ClientCertificateCredentialOptions};
    let bytes = std::fs::read(&path).map_err(|e| {
        format!(
            "AZURE_CLIENT_CERTIFICATE_PATH ({}) cannot be read: {e}",
            path.display()
        )
    })?;
    let options = ClientCertificateCredentialOptions {
        client_options,
        password: env
            .var("AZURE_CLIENT_CERTIFICATE_PASSWORD")
            .map(Secret::new),
    };
    ClientCertificateCredential::new(
        tenant,
        client,
        azure_core::credentials::SecretBytes::new(bytes),
        Some(options),
    )
    .map(|c| c as Arc<dyn TokenCredential>)
    .map_err(|e| refused(&e))
}

#[cfg(not(feature = "client_certificate"))]
fn certificate(
    _env: &Env<'_>,
    _tenant: String,
    _client: String,
    _path: PathBuf,
    _client_options: azure_core::http::ClientOptions,
) -> Built {
    Err(
        "AZURE_CLIENT_CERTIFICATE_PATH is set, but keyvault-core was built without its \
         `client_certificate` feature"
            .to_owned(),
    )
}

fn workload_identity(env: &Env<'_>, options: &DefaultAzureCredentialOptions) -> Result<Built> {
    let names = [
        "AZURE_FEDERATED_TOKEN_FILE",
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
    ];
    let [file, client, tenant] = match env.all(names) {
        Ok(values) => values,
        Err(missing) => return Ok(Err(not_set(&missing))),
    };
    let options = WorkloadIdentityCredentialOptions {
        credential_options: ClientAssertionCredentialOptions {
            client_options: azure_client_options(env, options)?,
        },
        client_id: Some(client),
        tenant_id: Some(tenant),
        token_file_path: Some(PathBuf::from(file)),
    };
    Ok(WorkloadIdentityCredential::new(Some(options))
        .map(|c| c as Arc<dyn TokenCredential>)
        .map_err(|e| refused(&e)))
}

fn managed_identity(env: &Env<'_>, options: &DefaultAzureCredentialOptions) -> Result<Link> {
    let kind = CredentialKind::ManagedIdentity;
    let user_assigned_id = options
        .managed_identity
        .clone()
        .or_else(|| env.var("AZURE_CLIENT_ID").map(ManagedIdentityId::ClientId))
        .map(ManagedIdentityId::into_user_assigned);
    let mi_options = ManagedIdentityCredentialOptions {
        user_assigned_id,
        client_options: azure_core::http::ClientOptions {
            transport: Some(crate::credential_transport(&options.client_options)?),
            ..Default::default()
        },
    };
    let credential = ManagedIdentityCredential::new(Some(mi_options))
        .map(|c| c as Arc<dyn TokenCredential>)
        .map_err(|e| refused(&e));
    // azure_identity picks its source from the process environment: with no
    // endpoint variable it is the instance metadata service.
    let on_imds = ["IDENTITY_ENDPOINT", "MSI_ENDPOINT"]
        .iter()
        .all(|name| std::env::var_os(name).is_none_or(|v| v.is_empty()));
    let probe = match on_imds {
        true => Some(ImdsProbe {
            client: crate::transport::build_client(&options.client_options)?,
            timeout: options.imds_probe_timeout,
            answered: AtomicBool::new(false),
        }),
        false => None,
    };
    Ok(Link {
        probe,
        ..Link::new(kind, credential)
    })
}

fn not_set(missing: &[String]) -> String {
    let verb = if missing.len() == 1 { "is" } else { "are" };
    format!("{} {verb} not set", missing.join(", "))
}

/// Why `azure_identity` refused to build a credential (its messages name
/// variables and ids, never a secret).
fn refused(error: &azure_core::Error) -> String {
    format!("not usable here: {}", indent(&error.to_string()))
}

/// A multi-line message as one list item: later lines indented.
fn indent(message: &str) -> String {
    message.trim().replace('\n', "\n    ")
}
