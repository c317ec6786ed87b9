//! [`KeyVaultAccessControlClient`]: role definitions and role assignments of
//! a Managed HSM's local role-based access control.

pub(crate) mod models;

use keyvault_core::{Result, client::ClientCore};

use crate::{
    ApiVersion, CreateRoleAssignmentOptions, ItemPager, KeyVaultRoleAssignment,
    KeyVaultRoleDefinition, KeyVaultRoleScope, ListOptions, RequestOptions,
    SetRoleDefinitionOptions,
    endpoint::{check_name, invalid},
    generated::rbac as wire,
};

/// A client for the role definitions and role assignments of one Managed
/// HSM.
///
/// Cheap to clone (an `Arc` inside) and `Send + Sync`.
///
/// ```no_run
/// use std::sync::Arc;
/// use futures::TryStreamExt;
/// use keyvault_administration::{KeyVaultAccessControlClient, KeyVaultRoleScope, TokenCredential};
///
/// # async fn demo(credential: Arc<dyn TokenCredential>) -> keyvault_administration::Result<()> {
/// let client = KeyVaultAccessControlClient::new("https://myhsm.managedhsm.azure.net", credential, None)?;
/// let roles: Vec<_> = client.list_role_definitions(KeyVaultRoleScope::Global, None).try_collect().await?;
/// let crypto_user = roles
///     .iter()
///     .find(|r| r.role_name.as_deref() == Some("Managed HSM Crypto User"))
///     .expect("a built-in role");
/// let assignment = client
///     .create_role_assignment(KeyVaultRoleScope::Keys, &crypto_user.id, "<principal object id>", None)
///     .await?;
/// client.delete_role_assignment(KeyVaultRoleScope::Keys, &assignment.name, None).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct KeyVaultAccessControlClient {
    core: ClientCore<ApiVersion>,
}

/// The outcome of a delete, where a `404` (nothing to delete) is not an
/// error, as in the Python client.
fn absent_is_fine(sent: Result<keyvault_core::http::Response>) -> Result<()> {
    match sent {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

impl KeyVaultAccessControlClient {
    crate::endpoint::hsm_client!(
        KeyVaultAccessControlClient,
        "providers/Microsoft.Authorization/roleDefinitions"
    );

    /// Lists the role definitions (built-in and custom) at `scope`, lazily.
    ///
    /// Errors (for example a `403`) come out of the stream.
    ///
    /// # Examples
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use keyvault_administration::KeyVaultRoleScope;
    /// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient) -> keyvault_administration::Result<()> {
    /// let mut roles = client.list_role_definitions(KeyVaultRoleScope::Global, None);
    /// while let Some(role) = roles.try_next().await? {
    ///     println!("{} {:?}", role.name, role.role_name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_role_definitions(
        &self,
        scope: impl Into<KeyVaultRoleScope>,
        options: Option<ListOptions>,
    ) -> ItemPager<KeyVaultRoleDefinition> {
        let scope = scope.into();
        let mut o = options.unwrap_or_default();
        let core = self
            .core
            .with_request_options(std::mem::take(&mut o.request_options));
        let request = wire::role_definitions_list_request(
            core.endpoint(),
            scope.as_str(),
            o.filter.as_deref(),
        );
        let token = o.continuation_token.as_deref();
        let operation = wire::ROLE_DEFINITIONS_LIST;
        core.pager::<wire::RoleDefinitionListResult, _>(
            operation,
            request,
            token,
            TryInto::try_into,
        )
    }

    /// Gets one role definition.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an
    /// empty name; the service's errors, for example `404
    /// RoleDefinitionNotFound`.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_administration::KeyVaultRoleScope;
    /// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient) -> keyvault_administration::Result<()> {
    /// let role = client
    ///     .get_role_definition(KeyVaultRoleScope::Global, "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8", None)
    ///     .await?;
    /// println!("{:?}", role.permissions);
    /// # Ok(()) }
    /// ```
    pub async fn get_role_definition(
        &self,
        scope: impl Into<KeyVaultRoleScope>,
        name: &str,
        options: Option<RequestOptions>,
    ) -> Result<KeyVaultRoleDefinition> {
        let core = self.core.with_request_options(options);
        check_name("role definition", name)?;
        let scope = scope.into();
        let request = wire::role_definitions_get_request(core.endpoint(), scope.as_str(), name);
        let response = core.send(wire::ROLE_DEFINITIONS_GET, request).await?;
        wire::role_definitions_get_response(&response).and_then(TryInto::try_into)
    }

    /// Creates a custom role definition, or replaces the one named in the
    /// options. Without a name a new random GUID is used.
    ///
    /// # Errors
    /// The service's errors, for example `400 BadParameter` for a name that
    /// is not a GUID or a scope other than `/`.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_administration::{
    ///     KeyVaultDataAction, KeyVaultPermission, KeyVaultRoleScope, SetRoleDefinitionOptions,
    /// };
    /// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient) -> keyvault_administration::Result<()> {
    /// let options = SetRoleDefinitionOptions {
    ///     role_name: Some("key reader".into()),
    ///     permissions: vec![KeyVaultPermission {
    ///         data_actions: Some(vec![KeyVaultDataAction::ReadHsmKey]),
    ///         ..Default::default()
    ///     }],
    ///     ..Default::default()
    /// };
    /// let role = client.set_role_definition(KeyVaultRoleScope::Global, Some(options)).await?;
    /// println!("created {}", role.name);
    /// # Ok(()) }
    /// ```
    pub async fn set_role_definition(
        &self,
        scope: impl Into<KeyVaultRoleScope>,
        options: Option<SetRoleDefinitionOptions>,
    ) -> Result<KeyVaultRoleDefinition> {
        let scope = scope.into();
        let mut o = options.unwrap_or_default();
        let core = self
            .core
            .with_request_options(std::mem::take(&mut o.request_options));
        let name = o
            .name
            .unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().to_string());
        check_name("role definition", &name)?;
        let body = wire::RoleDefinitionCreateParameters {
            properties: wire::RoleDefinitionProperties {
                assignable_scopes: o
                    .assignable_scopes
                    .map(|s| s.iter().map(Into::into).collect()),
                description: o.description,
                permissions: Some(o.permissions.iter().map(Into::into).collect()),
                role_name: o.role_name,
                role_type: None,
            },
        };
        let request = wire::role_definitions_create_or_update_request(
            core.endpoint(),
            scope.as_str(),
            &name,
            &body,
        );
        let response = core
            .send(wire::ROLE_DEFINITIONS_CREATE_OR_UPDATE, request)
            .await?;
        wire::role_definitions_create_or_update_response(&response).and_then(TryInto::try_into)
    }

    /// Deletes a custom role definition. A definition that does not exist
    /// is not an error (as in the Python client: the service's `404` is
    /// ignored).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an
    /// empty name; the service's errors other than `404`, for example `400`
    /// for a built-in role or a role still assigned.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_administration::KeyVaultRoleScope;
    /// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient) -> keyvault_administration::Result<()> {
    /// client
    ///     .delete_role_definition(KeyVaultRoleScope::Global, "e4a3c4d3-8b4f-4c0e-a6a4-0d5f3c7b9a11", None)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_role_definition(
        &self,
        scope: impl Into<KeyVaultRoleScope>,
        name: &str,
        options: Option<RequestOptions>,
    ) -> Result<()> {
        let core = self.core.with_request_options(options);
        check_name("role definition", name)?;
        let scope = scope.into();
        let request = wire::role_definitions_delete_request(core.endpoint(), scope.as_str(), name);
        absent_is_fine(core.send(wire::ROLE_DEFINITIONS_DELETE, request).await)
    }

    /// Lists the role assignments at `scope`, lazily.
    ///
    /// Errors (for example a `403`) come out of the stream.
    ///
    /// # Examples
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use keyvault_administration::KeyVaultRoleScope;
    /// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient) -> keyvault_administration::Result<()> {
    /// let mut assignments = client.list_role_assignments(KeyVaultRoleScope::Global, None);
    /// while let Some(a) = assignments.try_next().await? {
    ///     println!("{} holds {:?}", a.properties.principal_id.unwrap_or_default(), a.properties.role_definition_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_role_assignments(
        &self,
        scope: impl Into<KeyVaultRoleScope>,
        options: Option<ListOptions>,
    ) -> ItemPager<KeyVaultRoleAssignment> {
        let scope = scope.into();
        let mut o = options.unwrap_or_default();
        let core = self
            .core
            .with_request_options(std::mem::take(&mut o.request_options));
        let request = wire::role_assignments_list_for_scope_request(
            core.endpoint(),
            scope.as_str(),
            o.filter.as_deref(),
        );
        let token = o.continuation_token.as_deref();
        let operation = wire::ROLE_ASSIGNMENTS_LIST_FOR_SCOPE;
        core.pager::<wire::RoleAssignmentListResult, _>(
            operation,
            request,
            token,
            TryInto::try_into,
        )
    }

    /// Gets one role assignment.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an
    /// empty name; the service's errors, for example `404
    /// RoleAssignmentNotFound`.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_administration::KeyVaultRoleScope;
    /// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient, name: String) -> keyvault_administration::Result<()> {
    /// let assignment = client.get_role_assignment(KeyVaultRoleScope::Keys, &name, None).await?;
    /// println!("{:?}", assignment.properties.scope);
    /// # Ok(()) }
    /// ```
    pub async fn get_role_assignment(
        &self,
        scope: impl Into<KeyVaultRoleScope>,
        name: &str,
        options: Option<RequestOptions>,
    ) -> Result<KeyVaultRoleAssignment> {
        let core = self.core.with_request_options(options);
        check_name("role assignment", name)?;
        let scope = scope.into();
        let request = wire::role_assignments_get_request(core.endpoint(), scope.as_str(), name);
        let response = core.send(wire::ROLE_ASSIGNMENTS_GET, request).await?;
        wire::role_assignments_get_response(&response).and_then(TryInto::try_into)
    }

    /// Gives the principal `principal_id` (an object id in Microsoft Entra
    /// ID) the role `definition_id` (a [`KeyVaultRoleDefinition::id`]) at
    /// `scope`. Without a name in the options a new random GUID is used.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an
    /// empty role definition id or principal id; the service's errors, for
    /// example `400` for an unknown role, `409 RoleAssignmentExists` for a
    /// name already in use.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_administration::{KeyVaultRoleDefinition, KeyVaultRoleScope};
    /// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient, role: KeyVaultRoleDefinition) -> keyvault_administration::Result<()> {
    /// let assignment = client
    ///     .create_role_assignment(KeyVaultRoleScope::Global, &role.id, "00000000-0000-0000-0000-000000000001", None)
    ///     .await?;
    /// println!("assigned as {}", assignment.name);
    /// # Ok(()) }
    /// ```
    pub async fn create_role_assignment(
        &self,
        scope: impl Into<KeyVaultRoleScope>,
        definition_id: impl AsRef<str>,
        principal_id: &str,
        options: Option<CreateRoleAssignmentOptions>,
    ) -> Result<KeyVaultRoleAssignment> {
        let scope = scope.into();
        let definition_id = definition_id.as_ref();
        if definition_id.is_empty() {
            return Err(invalid("the role definition id must not be empty"));
        }
        if principal_id.is_empty() {
            return Err(invalid("the principal id must not be empty"));
        }
        let o = options.unwrap_or_default();
        let core = self.core.with_request_options(o.request_options);
        let name = o
            .name
            .unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().to_string());
        check_name("role assignment", &name)?;
        let body = wire::RoleAssignmentCreateParameters {
            properties: wire::RoleAssignmentProperties {
                principal_id: principal_id.to_owned(),
                role_definition_id: definition_id.to_owned(),
            },
        };
        let request =
            wire::role_assignments_create_request(core.endpoint(), scope.as_str(), &name, &body);
        let response = core.send(wire::ROLE_ASSIGNMENTS_CREATE, request).await?;
        wire::role_assignments_create_response(&response).and_then(TryInto::try_into)
    }

    /// Deletes a role assignment. An assignment that does not exist is not
    /// an error (as in the Python client: the service's `404` is ignored).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an
    /// empty name; the service's errors other than `404`.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_administration::KeyVaultRoleScope;
    /// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient, name: String) -> keyvault_administration::Result<()> {
    /// client.delete_role_assignment(KeyVaultRoleScope::Global, &name, None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_role_assignment(
        &self,
        scope: impl Into<KeyVaultRoleScope>,
        name: &str,
        options: Option<RequestOptions>,
    ) -> Result<()> {
        let core = self.core.with_request_options(options);
        check_name("role assignment", name)?;
        let scope = scope.into();
        let request = wire::role_assignments_delete_request(core.endpoint(), scope.as_str(), name);
        absent_is_fine(core.send(wire::ROLE_ASSIGNMENTS_DELETE, request).await)
    }
}
