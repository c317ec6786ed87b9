//! Options of the administration clients and of their methods.
//!
//! Every options type implements `Default`; set only the fields you need
//! and pass `None` for the defaults.

use std::time::Duration;

use keyvault_core::client::ClientCoreOptions;

use crate::{ApiVersion, KeyVaultPermission, KeyVaultRoleScope, RequestOptions};

/// Options of the constructors of
/// [`KeyVaultAccessControlClient`](crate::KeyVaultAccessControlClient),
/// [`KeyVaultBackupClient`](crate::KeyVaultBackupClient) and
/// [`KeyVaultSettingsClient`](crate::KeyVaultSettingsClient): the API
/// version (default: the newest stable version, [`ApiVersion::V2025_07_01`])
/// and the [`ClientOptions`](crate::ClientOptions) every client takes.
///
/// ```
/// use keyvault_administration::{AdministrationClientOptions, ApiVersion, ClientOptions};
///
/// let options = AdministrationClientOptions {
///     api_version: ApiVersion::V7_5,
///     client_options: ClientOptions {
///         user_agent_prefix: Some("my-app/1.0".into()),
///         ..Default::default()
///     },
/// };
/// # let _ = options;
/// ```
pub type AdministrationClientOptions = ClientCoreOptions<ApiVersion>;

/// Options of
/// [`list_role_definitions`](crate::KeyVaultAccessControlClient::list_role_definitions) and
/// [`list_role_assignments`](crate::KeyVaultAccessControlClient::list_role_assignments).
///
/// ```
/// let options = keyvault_administration::ListOptions {
///     filter: Some("atScopeAndBelow()".into()),
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    /// An OData filter sent as `$filter`, for example `atScopeAndBelow()`
    /// (role definitions) or `principalId eq '<object id>'` (role
    /// assignments).
    pub filter: Option<String>,
    /// Resume a listing at the page this token names: a
    /// [`Page::continuation_token`](crate::Page::continuation_token) of an
    /// earlier listing of the same kind.
    pub continuation_token: Option<String>,
    /// Per-call headers, timeout, retries and parent span.
    pub request_options: RequestOptions,
}

/// Options of
/// [`set_role_definition`](crate::KeyVaultAccessControlClient::set_role_definition).
///
/// ```
/// use keyvault_administration::{KeyVaultDataAction, KeyVaultPermission, SetRoleDefinitionOptions};
///
/// let options = SetRoleDefinitionOptions {
///     role_name: Some("key reader".into()),
///     permissions: vec![KeyVaultPermission {
///         data_actions: Some(vec![KeyVaultDataAction::ReadHsmKey]),
///         ..Default::default()
///     }],
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
pub struct SetRoleDefinitionOptions {
    /// The name (a GUID) of the role definition to create or replace. A new
    /// random one when `None`.
    pub name: Option<String>,
    /// The role's display name.
    pub role_name: Option<String>,
    /// What the role is for.
    pub description: Option<String>,
    /// What the role allows and excludes (sent as `[]` when empty).
    pub permissions: Vec<KeyVaultPermission>,
    /// The scopes the role can be assigned at; not sent when `None` (the
    /// service then uses `/`).
    pub assignable_scopes: Option<Vec<KeyVaultRoleScope>>,
    /// Per-call headers, timeout, retries and parent span.
    pub request_options: RequestOptions,
}

/// Options of
/// [`create_role_assignment`](crate::KeyVaultAccessControlClient::create_role_assignment).
///
/// ```
/// let options = keyvault_administration::CreateRoleAssignmentOptions {
///     name: Some("6a1b0e2c-3d4f-4a5b-8c9d-0e1f2a3b4c5d".into()),
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
pub struct CreateRoleAssignmentOptions {
    /// The name (a GUID) of the new assignment. A new random one when `None`.
    pub name: Option<String>,
    /// Per-call headers, timeout, retries and parent span.
    pub request_options: RequestOptions,
}

/// Options of the backup client's long-running operations
/// ([`begin_backup`](crate::KeyVaultBackupClient::begin_backup),
/// [`begin_pre_backup`](crate::KeyVaultBackupClient::begin_pre_backup),
/// [`begin_pre_restore`](crate::KeyVaultBackupClient::begin_pre_restore) and
/// the `resume_*` methods).
///
/// ```
/// use std::time::Duration;
///
/// let options = keyvault_administration::PollerOptions {
///     frequency: Some(Duration::from_secs(1)),
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
pub struct PollerOptions {
    /// The delay between two status requests when the service does not say
    /// (`Retry-After`). Default 5 seconds.
    pub frequency: Option<Duration>,
    /// Per-call headers, timeout, retries and parent span.
    pub request_options: RequestOptions,
}

/// Options of [`begin_restore`](crate::KeyVaultBackupClient::begin_restore).
///
/// ```
/// let options = keyvault_administration::RestoreOptions {
///     key_name: Some("my-key".into()),
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// Restore only this key (a selective key restore) instead of the whole
    /// HSM.
    pub key_name: Option<String>,
    /// The delay between two status requests when the service does not say
    /// (`Retry-After`). Default 5 seconds.
    pub frequency: Option<Duration>,
    /// Per-call headers, timeout, retries and parent span.
    pub request_options: RequestOptions,
}
