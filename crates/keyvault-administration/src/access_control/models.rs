//! Role definitions, role assignments, scopes and permissions.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::generated::rbac as wire;
use crate::{Error, ErrorKind, KeyVaultDataAction, KeyVaultRoleType, Result};

/// Where a role definition or assignment applies: the whole HSM
/// ([`Global`](Self::Global), `/`), all its keys ([`Keys`](Self::Keys),
/// `/keys`), or any other scope such as one key (`/keys/my-key`).
///
/// ```
/// use keyvault_administration::KeyVaultRoleScope;
///
/// assert_eq!(KeyVaultRoleScope::Global.as_str(), "/");
/// assert_eq!(KeyVaultRoleScope::from("/keys"), KeyVaultRoleScope::Keys);
/// assert_eq!(KeyVaultRoleScope::key("my-key").as_str(), "/keys/my-key");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyVaultRoleScope {
    /// `/`: the whole HSM (the default).
    #[default]
    Global,
    /// `/keys`: every key of the HSM.
    Keys,
    /// Any other scope, kept as given (for example `/keys/my-key`).
    Other(String),
}

impl KeyVaultRoleScope {
    /// The scope of one key: `/keys/{name}`.
    pub fn key(name: &str) -> Self {
        Self::Other(format!("/keys/{name}"))
    }

    /// The scope as the service writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Global => "/",
            Self::Keys => "/keys",
            Self::Other(s) => s,
        }
    }
}

impl From<&str> for KeyVaultRoleScope {
    fn from(value: &str) -> Self {
        match value {
            "/" => Self::Global,
            "/keys" => Self::Keys,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl From<String> for KeyVaultRoleScope {
    fn from(value: String) -> Self {
        Self::from(value.as_str())
    }
}

impl From<&String> for KeyVaultRoleScope {
    fn from(value: &String) -> Self {
        Self::from(value.as_str())
    }
}

impl From<&KeyVaultRoleScope> for KeyVaultRoleScope {
    fn from(value: &KeyVaultRoleScope) -> Self {
        value.clone()
    }
}

impl From<wire::RoleScope> for KeyVaultRoleScope {
    fn from(value: wire::RoleScope) -> Self {
        Self::from(value.as_str())
    }
}

impl From<&KeyVaultRoleScope> for wire::RoleScope {
    fn from(value: &KeyVaultRoleScope) -> Self {
        wire::RoleScope::from(value.as_str())
    }
}

impl fmt::Display for KeyVaultRoleScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for KeyVaultRoleScope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for KeyVaultRoleScope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier as the service writes it.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier as the service writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The last segment of the identifier: the name (a GUID).
            pub fn name(&self) -> &str {
                self.0.rsplit('/').next().unwrap_or("")
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

id_type! {
    /// The identifier of a role definition, for example
    /// `Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/<guid>`.
    /// Give it to
    /// [`create_role_assignment`](crate::KeyVaultAccessControlClient::create_role_assignment).
    ///
    /// ```
    /// use keyvault_administration::KeyVaultRoleDefinitionId;
    ///
    /// let id = KeyVaultRoleDefinitionId::new(
    ///     "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8",
    /// );
    /// assert_eq!(id.name(), "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8");
    /// ```
    KeyVaultRoleDefinitionId
}

id_type! {
    /// The identifier of a role assignment, for example
    /// `/providers/Microsoft.Authorization/roleAssignments/<guid>`.
    ///
    /// ```
    /// use keyvault_administration::KeyVaultRoleAssignmentId;
    ///
    /// let id = KeyVaultRoleAssignmentId::new("/providers/Microsoft.Authorization/roleAssignments/abc");
    /// assert_eq!(id.name(), "abc");
    /// ```
    KeyVaultRoleAssignmentId
}

/// What a role allows (`actions`, `data_actions`) and leaves out
/// (`not_actions`, `not_data_actions`). Fields left `None` are not sent.
///
/// ```
/// use keyvault_administration::{KeyVaultDataAction, KeyVaultPermission};
///
/// let read_keys = KeyVaultPermission {
///     data_actions: Some(vec![KeyVaultDataAction::ReadHsmKey]),
///     not_data_actions: Some(vec![KeyVaultDataAction::ExportHsmKey]),
///     ..Default::default()
/// };
/// # let _ = read_keys;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct KeyVaultPermission {
    /// Control-plane actions granted (Managed HSM has none today).
    pub actions: Option<Vec<String>>,
    /// Control-plane actions left out.
    pub not_actions: Option<Vec<String>>,
    /// Data-plane actions granted.
    pub data_actions: Option<Vec<KeyVaultDataAction>>,
    /// Data-plane actions left out of the grant (another role may still
    /// grant them).
    pub not_data_actions: Option<Vec<KeyVaultDataAction>>,
}

impl From<wire::Permission> for KeyVaultPermission {
    fn from(p: wire::Permission) -> Self {
        Self {
            actions: p.actions,
            not_actions: p.not_actions,
            data_actions: p.data_actions,
            not_data_actions: p.not_data_actions,
        }
    }
}

impl From<&KeyVaultPermission> for wire::Permission {
    fn from(p: &KeyVaultPermission) -> Self {
        Self {
            actions: p.actions.clone(),
            not_actions: p.not_actions.clone(),
            data_actions: p.data_actions.clone(),
            not_data_actions: p.not_data_actions.clone(),
        }
    }
}

/// A role definition: a named set of permissions that can be assigned.
///
/// ```no_run
/// use keyvault_administration::{KeyVaultDataAction, KeyVaultRoleScope};
/// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient) -> keyvault_administration::Result<()> {
/// let role = client
///     .get_role_definition(KeyVaultRoleScope::Global, "21dbd100-6940-42c2-9190-5d6cb909625b", None)
///     .await?;
/// let signs = role.permissions.iter().any(|p| {
///     p.data_actions.iter().flatten().any(|a| *a == KeyVaultDataAction::SignHsmKey)
/// });
/// println!("{:?} ({:?}) may sign: {signs}", role.role_name, role.role_type);
/// # Ok(()) }
/// ```
///
/// Built by users, for example to fake an answer of the client:
///
/// ```
/// use keyvault_administration::{
///     KeyVaultDataAction, KeyVaultPermission, KeyVaultRoleDefinition, KeyVaultRoleScope,
/// };
///
/// let role = KeyVaultRoleDefinition::new(
///     "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/d1",
/// )
/// .with_role_name("Key Reader")
/// .with_permissions([KeyVaultPermission {
///     data_actions: Some(vec![KeyVaultDataAction::ReadHsmKey]),
///     ..Default::default()
/// }])
/// .with_assignable_scopes([KeyVaultRoleScope::Global]);
/// assert_eq!(role.name, "d1");
/// assert_eq!(role.description, None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[non_exhaustive]
pub struct KeyVaultRoleDefinition {
    /// The full identifier, to give to
    /// [`create_role_assignment`](crate::KeyVaultAccessControlClient::create_role_assignment).
    pub id: KeyVaultRoleDefinitionId,
    /// The name (a GUID).
    pub name: String,
    /// The resource type, `Microsoft.Authorization/roleDefinitions`.
    pub resource_type: Option<String>,
    /// The display name, for example `Managed HSM Crypto User`.
    pub role_name: Option<String>,
    /// Built-in or custom.
    pub role_type: Option<KeyVaultRoleType>,
    /// What the role is for.
    pub description: Option<String>,
    /// What the role allows and excludes (empty when the service sent
    /// none).
    #[cfg_attr(feature = "serde", serde(default))]
    pub permissions: Vec<KeyVaultPermission>,
    /// The scopes the role can be assigned at (empty when the service sent
    /// none).
    #[cfg_attr(feature = "serde", serde(default))]
    pub assignable_scopes: Vec<KeyVaultRoleScope>,
}

impl KeyVaultRoleDefinition {
    /// The role definition `id`, named after the identifier's last segment,
    /// with every other field empty: set them with the `with_*` methods or
    /// directly.
    pub fn new(id: impl Into<KeyVaultRoleDefinitionId>) -> Self {
        let id = id.into();
        Self {
            name: id.name().to_owned(),
            id,
            resource_type: None,
            role_name: None,
            role_type: None,
            description: None,
            permissions: Vec::new(),
            assignable_scopes: Vec::new(),
        }
    }

    keyvault_core::with_setters! {
        with_name: name = String;
        with_resource_type: resource_type = Some(String);
        with_role_name: role_name = Some(String);
        with_role_type: role_type = Some(KeyVaultRoleType);
        with_description: description = Some(String);
        with_permissions: permissions = Vec<KeyVaultPermission>;
        with_assignable_scopes: assignable_scopes = Vec<KeyVaultRoleScope>;
    }
}

/// The identifier and the name of a role definition or assignment in a
/// service's answer: both are always there.
fn id_and_name(what: &str, id: Option<String>, name: Option<String>) -> Result<(String, String)> {
    match (id, name) {
        (Some(id), Some(name)) if !id.is_empty() && !name.is_empty() => Ok((id, name)),
        _ => Err(Error::new(
            ErrorKind::Deserialize,
            format!("the service's answer names no {what} (it lacks an id or a name)"),
        )),
    }
}

impl TryFrom<wire::RoleDefinition> for KeyVaultRoleDefinition {
    type Error = Error;

    fn try_from(d: wire::RoleDefinition) -> Result<Self> {
        let (id, name) = id_and_name("role definition", d.id, d.name)?;
        let p = d.properties.unwrap_or_default();
        Ok(Self {
            id: id.into(),
            name,
            resource_type: d.r#type.map(|t| t.as_str().to_owned()),
            role_name: p.role_name,
            role_type: p.role_type,
            description: p.description,
            permissions: p
                .permissions
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            assignable_scopes: p
                .assignable_scopes
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
        })
    }
}

/// Which role, which principal, which scope: the properties of a
/// [`KeyVaultRoleAssignment`].
///
/// ```no_run
/// # fn demo(assignment: keyvault_administration::KeyVaultRoleAssignment) {
/// let p = &assignment.properties;
/// println!("{:?} holds {:?} at {:?}", p.principal_id, p.role_definition_id, p.scope);
/// # }
/// ```
///
/// Built by users with `default()` and the `with_*` methods (see
/// [`KeyVaultRoleAssignment::new`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[non_exhaustive]
pub struct KeyVaultRoleAssignmentProperties {
    /// The object id (in Microsoft Entra ID) of the user, group or service
    /// principal holding the role.
    pub principal_id: Option<String>,
    /// The assigned role definition.
    pub role_definition_id: Option<KeyVaultRoleDefinitionId>,
    /// Where the assignment applies.
    pub scope: Option<KeyVaultRoleScope>,
}

impl KeyVaultRoleAssignmentProperties {
    keyvault_core::with_setters! {
        with_principal_id: principal_id = Some(String);
        with_role_definition_id: role_definition_id = Some(KeyVaultRoleDefinitionId);
        with_scope: scope = Some(KeyVaultRoleScope);
    }
}

/// A role held by a principal at a scope.
///
/// ```no_run
/// use futures::TryStreamExt;
/// use keyvault_administration::KeyVaultRoleScope;
/// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient) -> keyvault_administration::Result<()> {
/// let mut assignments = client.list_role_assignments(KeyVaultRoleScope::Global, None);
/// while let Some(a) = assignments.try_next().await? {
///     println!("{} ({})", a.name, a.id);
/// }
/// # Ok(()) }
/// ```
///
/// Built by users:
///
/// ```
/// use keyvault_administration::{
///     KeyVaultRoleAssignment, KeyVaultRoleAssignmentProperties, KeyVaultRoleScope,
/// };
///
/// let assignment = KeyVaultRoleAssignment::new(
///     "/providers/Microsoft.Authorization/roleAssignments/a1",
///     KeyVaultRoleAssignmentProperties::default()
///         .with_principal_id("00000000-0000-0000-0000-000000000001")
///         .with_scope(KeyVaultRoleScope::Keys),
/// );
/// assert_eq!(assignment.name, "a1");
/// assert_eq!(assignment.properties.role_definition_id, None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[non_exhaustive]
pub struct KeyVaultRoleAssignment {
    /// The full identifier.
    pub id: KeyVaultRoleAssignmentId,
    /// The name (a GUID), to give to
    /// [`get_role_assignment`](crate::KeyVaultAccessControlClient::get_role_assignment)
    /// and [`delete_role_assignment`](crate::KeyVaultAccessControlClient::delete_role_assignment).
    pub name: String,
    /// The resource type, `Microsoft.Authorization/roleAssignments`.
    pub resource_type: Option<String>,
    /// The role, the principal and the scope (each `None` when the service
    /// sent none).
    pub properties: KeyVaultRoleAssignmentProperties,
}

impl KeyVaultRoleAssignment {
    /// The role assignment `id`, named after the identifier's last segment,
    /// with these properties and no resource type.
    pub fn new(
        id: impl Into<KeyVaultRoleAssignmentId>,
        properties: KeyVaultRoleAssignmentProperties,
    ) -> Self {
        let id = id.into();
        Self {
            name: id.name().to_owned(),
            id,
            resource_type: None,
            properties,
        }
    }

    keyvault_core::with_setters! {
        with_name: name = String;
        with_resource_type: resource_type = Some(String);
    }
}

impl TryFrom<wire::RoleAssignment> for KeyVaultRoleAssignment {
    type Error = Error;

    fn try_from(a: wire::RoleAssignment) -> Result<Self> {
        let (id, name) = id_and_name("role assignment", a.id, a.name)?;
        let p = a.properties.unwrap_or_default();
        Ok(Self {
            id: id.into(),
            name,
            resource_type: a.r#type,
            properties: KeyVaultRoleAssignmentProperties {
                principal_id: p.principal_id,
                role_definition_id: p.role_definition_id.map(Into::into),
                scope: p.scope.map(Into::into),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip() {
        for (s, scope) in [
            ("/", KeyVaultRoleScope::Global),
            ("/keys", KeyVaultRoleScope::Keys),
            ("/keys/k1", KeyVaultRoleScope::key("k1")),
        ] {
            assert_eq!(KeyVaultRoleScope::from(s), scope);
            assert_eq!(scope.as_str(), s);
            assert_eq!(serde_json::to_value(&scope).unwrap(), s);
        }
    }

    #[test]
    fn role_definition_from_the_wire() {
        let json = r#"{"id":"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/d1","name":"d1",
            "type":"Microsoft.Authorization/roleDefinitions","properties":{"assignableScopes":["/","/keys"],
            "description":"x","permissions":[{"actions":[],"dataActions":["Microsoft.KeyVault/managedHsm/keys/read/action",
            "Microsoft.KeyVault/managedHsm/future/action"],"notActions":[],"notDataActions":[]}],
            "roleName":"reader","type":"CustomRole"}}"#;
        let d = KeyVaultRoleDefinition::try_from(
            serde_json::from_str::<wire::RoleDefinition>(json).unwrap(),
        )
        .unwrap();
        assert_eq!(d.id.name(), "d1");
        assert_eq!(d.role_type, Some(KeyVaultRoleType::CustomRole));
        assert_eq!(
            d.assignable_scopes,
            vec![KeyVaultRoleScope::Global, KeyVaultRoleScope::Keys]
        );
        assert_eq!(
            d.permissions[0].data_actions.as_deref(),
            Some(
                &[
                    KeyVaultDataAction::ReadHsmKey,
                    KeyVaultDataAction::Unknown(
                        "Microsoft.KeyVault/managedHsm/future/action".into()
                    )
                ][..]
            )
        );
        assert_eq!(
            d.resource_type.as_deref(),
            Some("Microsoft.Authorization/roleDefinitions")
        );
    }

    #[test]
    fn answers_without_an_id_or_a_name_are_errors() {
        for json in [
            r#"{"name":"d1"}"#,
            r#"{"id":"x/d1"}"#,
            r#"{"id":"","name":""}"#,
        ] {
            let d: wire::RoleDefinition = serde_json::from_str(json).unwrap();
            let e = KeyVaultRoleDefinition::try_from(d).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Deserialize, "{json}");
            let a: wire::RoleAssignment = serde_json::from_str(json).unwrap();
            let e = KeyVaultRoleAssignment::try_from(a).unwrap_err();
            assert!(e.to_string().contains("role assignment"), "{e}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_scope_reads_back_as_written(scope in any::<String>()) {
            let parsed = KeyVaultRoleScope::from(scope.as_str());
            prop_assert_eq!(parsed.as_str(), scope.as_str());
            prop_assert_eq!(KeyVaultRoleScope::from(scope.clone()), parsed);
        }

        #[test]
        fn a_key_scope_names_its_key(name in "[a-zA-Z0-9-]{1,127}") {
            let scope = KeyVaultRoleScope::key(&name);
            prop_assert_eq!(KeyVaultRoleScope::from(scope.as_str()), scope.clone());
            prop_assert_eq!(scope.as_str().strip_prefix("/keys/"), Some(name.as_str()));
        }
    }
}
