//! Managed HSM role-based access control: the built-in role definitions,
//! custom roles, role assignments, their wire shapes, `$filter`, and the
//! permission check.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::ServiceError;
use crate::objects::request::opt_string;

/// The prefix of every role definition id, as the service renders it.
pub(crate) const DEFINITION_ID_PREFIX: &str =
    "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/";

/// The data-action prefix shared by every Managed HSM action.
const MHSM: &str = "Microsoft.KeyVault/managedHsm/";

/// The data actions the routes check.
pub(crate) mod action {
    pub(crate) const KEYS_READ: &str = "Microsoft.KeyVault/managedHsm/keys/read/action";
    pub(crate) const KEYS_CREATE: &str = "Microsoft.KeyVault/managedHsm/keys/create";
    pub(crate) const KEYS_DELETE: &str = "Microsoft.KeyVault/managedHsm/keys/delete";
    pub(crate) const KEYS_WRITE: &str = "Microsoft.KeyVault/managedHsm/keys/write/action";
    pub(crate) const KEYS_RESTORE: &str = "Microsoft.KeyVault/managedHsm/keys/restore/action";
    pub(crate) const DELETED_READ: &str =
        "Microsoft.KeyVault/managedHsm/keys/deletedKeys/read/action";
    pub(crate) const DELETED_RECOVER: &str =
        "Microsoft.KeyVault/managedHsm/keys/deletedKeys/recover/action";
    pub(crate) const DELETED_PURGE: &str = "Microsoft.KeyVault/managedHsm/keys/deletedKeys/delete";
    pub(crate) const ASSIGNMENTS_READ: &str =
        "Microsoft.KeyVault/managedHsm/roleAssignments/read/action";
    pub(crate) const ASSIGNMENTS_WRITE: &str =
        "Microsoft.KeyVault/managedHsm/roleAssignments/write/action";
    pub(crate) const ASSIGNMENTS_DELETE: &str =
        "Microsoft.KeyVault/managedHsm/roleAssignments/delete/action";
    pub(crate) const DEFINITIONS_READ: &str =
        "Microsoft.KeyVault/managedHsm/roleDefinitions/read/action";
    pub(crate) const DEFINITIONS_WRITE: &str =
        "Microsoft.KeyVault/managedHsm/roleDefinitions/write/action";
    pub(crate) const DEFINITIONS_DELETE: &str =
        "Microsoft.KeyVault/managedHsm/roleDefinitions/delete/action";
    pub(crate) const BACKUP_START: &str = "Microsoft.KeyVault/managedHsm/backup/start/action";
    pub(crate) const BACKUP_STATUS: &str = "Microsoft.KeyVault/managedHsm/backup/status/action";
    pub(crate) const RESTORE_START: &str = "Microsoft.KeyVault/managedHsm/restore/start/action";
    pub(crate) const RESTORE_STATUS: &str = "Microsoft.KeyVault/managedHsm/restore/status/action";
}

/// The id of the built-in "Managed HSM Administrator" role.
pub(crate) const ADMINISTRATOR: &str = "a290e904-7015-4bba-90c8-60543313cdb4";

/// One permission block of a role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Permission {
    #[serde(default)]
    pub(crate) actions: Vec<String>,
    #[serde(default)]
    pub(crate) not_actions: Vec<String>,
    #[serde(default)]
    pub(crate) data_actions: Vec<String>,
    #[serde(default)]
    pub(crate) not_data_actions: Vec<String>,
}

/// A role definition (built-in or custom).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RoleDefinition {
    /// The GUID name, as first written.
    pub(crate) name: String,
    pub(crate) role_name: String,
    pub(crate) description: String,
    pub(crate) built_in: bool,
    pub(crate) permissions: Vec<Permission>,
    pub(crate) assignable_scopes: Vec<String>,
}

/// A role assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RoleAssignment {
    pub(crate) name: String,
    /// `/`, `/keys` or `/keys/{name}`.
    pub(crate) scope: String,
    /// The role definition's GUID name (lower case).
    pub(crate) role: String,
    pub(crate) principal_id: String,
}

/// `(roleName, GUID, dataActions, actions)` of each built-in role, in the
/// order the service lists them.
const BUILT_IN: &[(&str, &str, &[&str], &[&str])] = &[
    (
        "Managed HSM Backup User",
        "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8",
        &[
            "backup/start/action",
            "backup/status/action",
            "keys/backup/action",
        ],
        &[],
    ),
    (
        "Managed HSM Crypto Service Encryption User",
        "33413926-3206-4cdd-b39a-83574fe37a17",
        &["keys/read/action", "keys/wrap/action", "keys/unwrap/action"],
        &[],
    ),
    (
        "Managed HSM Crypto Service Release User",
        "21dbd100-6940-42c2-9190-5d6cb909625c",
        &["keys/release/action"],
        &[],
    ),
    (
        "Managed HSM Crypto Auditor",
        "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3",
        &[
            "roleAssignments/read/action",
            "roleDefinitions/read/action",
            "keys/read/action",
            "keys/deletedKeys/read/action",
        ],
        &[],
    ),
    (
        "Managed HSM Policy Administrator",
        "4bd23610-cdcf-4971-bdee-bdc562cc28e4",
        &[
            "roleDefinitions/read/action",
            "roleDefinitions/write/action",
            "roleDefinitions/delete/action",
            "roleAssignments/read/action",
            "roleAssignments/write/action",
            "roleAssignments/delete/action",
        ],
        &[],
    ),
    (
        "Managed HSM ARM User",
        "770fd66c-6266-4643-9d4e-b616870898d5",
        &[],
        &["keys/createIfNotExists", "keys/read/action"],
    ),
    (
        "Managed HSM Crypto User",
        "21dbd100-6940-42c2-9190-5d6cb909625b",
        &[
            "roleDefinitions/read/action",
            "roleAssignments/read/action",
            "keys/read/action",
            "keys/write/action",
            "keys/delete",
            "keys/create",
            "keys/rotate/action",
            "keys/import/action",
            "keys/release/action",
            "keys/backup/action",
            "keys/restore/action",
            "keys/encrypt/action",
            "keys/decrypt/action",
            "keys/wrap/action",
            "keys/unwrap/action",
            "keys/sign/action",
            "keys/verify/action",
            "keys/derive/action",
            "rng/action",
        ],
        &[],
    ),
    (
        "Managed HSM Crypto Officer",
        "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
        &[
            "roleAssignments/delete/action",
            "roleAssignments/read/action",
            "roleAssignments/write/action",
            "roleDefinitions/read/action",
            "roleDefinitions/write/action",
            "roleDefinitions/delete/action",
            "keys/deletedKeys/read/action",
            "keys/deletedKeys/delete",
            "keys/deletedKeys/recover/action",
            "keys/export/action",
        ],
        &[],
    ),
    (
        "Managed HSM Administrator",
        ADMINISTRATOR,
        &[
            "roleAssignments/delete/action",
            "roleAssignments/read/action",
            "roleAssignments/write/action",
            "roleDefinitions/read/action",
            "roleDefinitions/write/action",
            "roleDefinitions/delete/action",
            "securitydomain/download/action",
            "securitydomain/download/read",
            "securitydomain/upload/action",
            "securitydomain/upload/read",
            "securitydomain/transferkey/read",
            "backup/start/action",
            "restore/start/action",
            "backup/status/action",
            "restore/status/action",
        ],
        &[],
    ),
];

/// The built-in roles, in the service's order.
pub(crate) fn built_in() -> Vec<RoleDefinition> {
    BUILT_IN
        .iter()
        .map(|(role_name, id, data, actions)| RoleDefinition {
            name: (*id).to_owned(),
            role_name: (*role_name).to_owned(),
            description: String::new(),
            built_in: true,
            permissions: vec![Permission {
                actions: actions.iter().map(|a| format!("{MHSM}{a}")).collect(),
                data_actions: data.iter().map(|a| format!("{MHSM}{a}")).collect(),
                ..Permission::default()
            }],
            assignable_scopes: vec!["/".into()],
        })
        .collect()
}

/// Whether `name` is a GUID (`8-4-4-4-12` hex digits).
pub(crate) fn is_guid(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A GUID derived from `seed` (stable across restarts).
pub(crate) fn guid_from(seed: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(seed.as_bytes());
    let hex: String = h[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Normalises and validates a role scope: `/`, `/keys` or `/keys/{name}`.
pub(crate) fn normalize_scope(raw: &str) -> Result<String, ServiceError> {
    let trimmed = raw.trim_matches('/');
    if trimmed.is_empty() {
        return Ok("/".into());
    }
    let parts: Vec<&str> = trimmed.split('/').collect();
    match parts.as_slice() {
        [k] if k.eq_ignore_ascii_case("keys") => Ok("/keys".into()),
        [k, name]
            if k.eq_ignore_ascii_case("keys") && crate::objects::request::valid_name(name) =>
        {
            Ok(format!("/keys/{name}"))
        }
        _ => Err(ServiceError::bad_parameter(format!(
            "The scope '{raw}' is not valid: expected '/', '/keys' or '/keys/{{key-name}}'."
        ))),
    }
}

/// Whether an assignment at `outer` applies at `inner`.
pub(crate) fn scope_covers(outer: &str, inner: &str) -> bool {
    outer == "/"
        || outer.eq_ignore_ascii_case(inner)
        || (inner.len() > outer.len()
            && inner[..outer.len()].eq_ignore_ascii_case(outer)
            && inner.as_bytes()[outer.len()] == b'/')
}

/// Refuses to assign `role` at `scope` when none of its assignable scopes
/// covers it.
pub(crate) fn check_assignable(role: &RoleDefinition, scope: &str) -> Result<(), ServiceError> {
    if role
        .assignable_scopes
        .iter()
        .any(|s| scope_covers(s, scope))
    {
        return Ok(());
    }
    Err(ServiceError::bad_parameter(format!(
        "Role definition {} cannot be assigned at scope '{scope}': its assignable scopes are {}.",
        role.name,
        role.assignable_scopes.join(", ")
    )))
}

/// Whether an action pattern (`*` wildcard at the end) matches `action`.
fn matches(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => {
            action.len() >= prefix.len() && action[..prefix.len()].eq_ignore_ascii_case(prefix)
        }
        None => pattern.eq_ignore_ascii_case(action),
    }
}

/// Whether `role` grants the data action `action`: some `dataActions`
/// pattern matches it and no `notDataActions` pattern of the same block does.
pub(crate) fn grants(role: &RoleDefinition, action: &str) -> bool {
    role.permissions.iter().any(|p| {
        p.data_actions.iter().any(|a| matches(a, action))
            && !p.not_data_actions.iter().any(|a| matches(a, action))
    })
}

/// The wire form of a role definition.
pub(crate) fn render_definition(d: &RoleDefinition) -> Value {
    json!({
        "id": format!("{DEFINITION_ID_PREFIX}{}", d.name),
        "name": d.name,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "assignableScopes": d.assignable_scopes,
            "description": d.description,
            "permissions": d.permissions,
            "roleName": d.role_name,
            "type": if d.built_in { "AKVBuiltInRole" } else { "CustomRole" },
        },
    })
}

/// The wire form of a role assignment.
pub(crate) fn render_assignment(a: &RoleAssignment) -> Value {
    let prefix = if a.scope == "/" { "" } else { a.scope.as_str() };
    json!({
        "id": format!("{prefix}/providers/Microsoft.Authorization/roleAssignments/{}", a.name),
        "name": a.name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "principalId": a.principal_id,
            "roleDefinitionId": format!("{DEFINITION_ID_PREFIX}{}", a.role),
            "scope": a.scope,
        },
    })
}

fn properties(body: &[u8]) -> Result<Map<String, Value>, ServiceError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        ServiceError::bad_parameter("The request body is missing or is not a JSON object.")
    })?;
    match v.get("properties") {
        Some(Value::Object(p)) => Ok(p.clone()),
        _ => Err(ServiceError::bad_parameter(
            "Property 'properties' is required and must be an object.",
        )),
    }
}

fn string_list(v: Option<&Value>, what: &str) -> Result<Vec<String>, ServiceError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                _ => Err(ServiceError::bad_parameter(format!(
                    "Every item of '{what}' must be a non-empty string."
                ))),
            })
            .collect(),
        Some(_) => Err(ServiceError::bad_parameter(format!(
            "Property '{what}' must be an array of strings."
        ))),
    }
}

/// Parses a role-definition PUT body into a custom role named `name`.
pub(crate) fn parse_definition(
    body: &[u8],
    name: &str,
    existing: Option<&RoleDefinition>,
) -> Result<RoleDefinition, ServiceError> {
    let p = properties(body)?;
    let permissions = match p.get("permissions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                let Value::Object(m) = item else {
                    return Err(ServiceError::bad_parameter(
                        "Every item of 'permissions' must be an object.",
                    ));
                };
                let perm = Permission {
                    actions: string_list(m.get("actions"), "actions")?,
                    not_actions: string_list(m.get("notActions"), "notActions")?,
                    data_actions: string_list(m.get("dataActions"), "dataActions")?,
                    not_data_actions: string_list(m.get("notDataActions"), "notDataActions")?,
                };
                out.push(perm);
            }
            out
        }
        Some(_) => {
            return Err(ServiceError::bad_parameter(
                "Property 'permissions' must be an array.",
            ));
        }
    };
    if let Some(t) = opt_string(&p, "type")?
        && !t.eq_ignore_ascii_case("CustomRole")
    {
        return Err(ServiceError::bad_parameter(format!(
            "Role type '{t}' cannot be written: only CustomRole can."
        )));
    }
    let mut scopes = string_list(p.get("assignableScopes"), "assignableScopes")?;
    if scopes.is_empty() {
        scopes.push("/".into());
    }
    let scopes = scopes
        .iter()
        .map(|s| match normalize_scope(s)?.as_str() {
            s @ ("/" | "/keys") => Ok(s.to_owned()),
            _ => Err(ServiceError::bad_parameter(format!(
                "Assignable scope '{s}' is not valid: expected '/' or '/keys'."
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RoleDefinition {
        name: existing.map_or_else(|| name.to_owned(), |e| e.name.clone()),
        role_name: opt_string(&p, "roleName")?.unwrap_or_default(),
        description: opt_string(&p, "description")?.unwrap_or_default(),
        built_in: false,
        permissions,
        assignable_scopes: scopes,
    })
}

/// What a role-assignment PUT body asks for.
pub(crate) struct NewAssignment {
    /// The role definition's GUID name (lower case).
    pub(crate) role: String,
    pub(crate) principal_id: String,
}

/// Parses a role-assignment PUT body.
pub(crate) fn parse_assignment(body: &[u8]) -> Result<NewAssignment, ServiceError> {
    let p = properties(body)?;
    let role_id = opt_string(&p, "roleDefinitionId")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ServiceError::bad_parameter("Property 'roleDefinitionId' is required."))?;
    let principal_id = opt_string(&p, "principalId")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ServiceError::bad_parameter("Property 'principalId' is required."))?;
    let role = role_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    Ok(NewAssignment { role, principal_id })
}

/// A parsed role-assignment `$filter`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct AssignmentFilter {
    pub(crate) at_scope: bool,
    pub(crate) principal_id: Option<String>,
}

/// Parses `atScope()`, `principalId eq '{id}'` or both joined by `and`.
pub(crate) fn parse_assignment_filter(raw: Option<&str>) -> Result<AssignmentFilter, ServiceError> {
    let mut f = AssignmentFilter::default();
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(f);
    };
    for clause in split_and(raw) {
        let c = clause.trim();
        if c.eq_ignore_ascii_case("atScope()") {
            f.at_scope = true;
        } else if let Some(v) = eq_clause(c, "principalId") {
            f.principal_id = Some(v);
        } else {
            return Err(ServiceError::bad_parameter(format!(
                "The filter '{raw}' is not supported: use atScope(), principalId eq '{{id}}', or both joined by 'and'."
            )));
        }
    }
    Ok(f)
}

/// Parses `roleName eq '{name}'`.
pub(crate) fn parse_definition_filter(raw: Option<&str>) -> Result<Option<String>, ServiceError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    eq_clause(raw, "roleName").map(Some).ok_or_else(|| {
        ServiceError::bad_parameter(format!(
            "The filter '{raw}' is not supported: use roleName eq '{{name}}'."
        ))
    })
}

fn split_and(s: &str) -> Vec<&str> {
    let lower = s.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            in_quote = !in_quote;
        } else if !in_quote && bytes[i..].starts_with(b" and ") {
            out.push(&s[start..i]);
            i += 5;
            start = i;
            continue;
        }
        i += 1;
    }
    out.push(&s[start..]);
    out
}

/// `{field} eq '{value}'` → the value.
fn eq_clause(c: &str, field: &str) -> Option<String> {
    let rest = c.get(..field.len())?;
    if !rest.eq_ignore_ascii_case(field) {
        return None;
    }
    let rest = c[field.len()..].trim_start();
    let rest = rest
        .get(..2)
        .filter(|op| op.eq_ignore_ascii_case("eq"))
        .map(|_| rest[2..].trim())?;
    let inner = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// Every role definition: built-in first, then custom ones by name.
pub(crate) fn all_definitions(custom: &BTreeMap<String, RoleDefinition>) -> Vec<RoleDefinition> {
    let mut out = built_in();
    out.extend(custom.values().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_roles_render_like_the_service() {
        let roles = built_in();
        assert_eq!(roles.len(), 9);
        let v = render_definition(&roles[0]);
        assert_eq!(
            v["id"],
            "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8"
        );
        assert_eq!(v["properties"]["type"], "AKVBuiltInRole");
        assert_eq!(
            v["properties"]["permissions"][0]["dataActions"][0],
            "Microsoft.KeyVault/managedHsm/backup/start/action"
        );
    }

    #[test]
    fn scopes() {
        assert_eq!(normalize_scope("").unwrap(), "/");
        assert_eq!(normalize_scope("//").unwrap(), "/");
        assert_eq!(normalize_scope("/keys/").unwrap(), "/keys");
        assert_eq!(normalize_scope("keys/k1").unwrap(), "/keys/k1");
        assert!(normalize_scope("/secrets").is_err());
        assert!(scope_covers("/", "/keys/a"));
        assert!(scope_covers("/keys", "/keys/a"));
        assert!(!scope_covers("/keys/a", "/keys"));
        assert!(!scope_covers("/keys/a", "/keys/ab"));
    }

    #[test]
    fn filters() {
        assert_eq!(
            parse_assignment_filter(Some("atScope() and principalId eq 'a''b'")).unwrap(),
            AssignmentFilter {
                at_scope: true,
                principal_id: Some("a'b".into())
            }
        );
        assert!(parse_assignment_filter(Some("name eq 'x'")).is_err());
        assert_eq!(
            parse_assignment_filter(Some("principalId eq 'é' and atScope()"))
                .unwrap()
                .principal_id
                .as_deref(),
            Some("é")
        );
        assert!(parse_assignment_filter(Some("éé and ü")).is_err());
        assert_eq!(
            parse_definition_filter(Some("roleName eq 'Managed HSM Crypto User'")).unwrap(),
            Some("Managed HSM Crypto User".into())
        );
        assert!(parse_definition_filter(Some("roleName ne 'x'")).is_err());
    }

    #[test]
    fn not_data_actions_win() {
        let role = RoleDefinition {
            name: "x".into(),
            role_name: String::new(),
            description: String::new(),
            built_in: false,
            permissions: vec![Permission {
                data_actions: vec!["Microsoft.KeyVault/managedHsm/keys/*".into()],
                not_data_actions: vec![action::KEYS_DELETE.into()],
                ..Permission::default()
            }],
            assignable_scopes: vec!["/".into()],
        };
        assert!(grants(&role, action::KEYS_READ));
        assert!(!grants(&role, action::KEYS_DELETE));
        assert!(!grants(&role, action::BACKUP_START));
        assert!(is_guid(&guid_from("a")));
        assert!(!is_guid("definition-name"));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A string as an OData literal: quoted, quotes doubled.
    fn literal(s: &str) -> String {
        format!("'{}'", s.replace('\'', "''"))
    }

    proptest! {
        #[test]
        fn any_filter_parses_without_panicking(raw in any::<String>()) {
            let _ = parse_assignment_filter(Some(&raw));
            let _ = parse_definition_filter(Some(&raw));
        }

        #[test]
        fn filter_like_text_parses_without_panicking(
            raw in "(atScope\\(\\)|principalId|roleName| and | eq |'|é| ){0,8}",
        ) {
            let _ = parse_assignment_filter(Some(&raw));
            let _ = parse_definition_filter(Some(&raw));
        }

        #[test]
        fn a_formatted_filter_reads_back(
            principal in any::<String>(),
            role in any::<String>(),
            at_scope in any::<bool>(),
            scope_first in any::<bool>(),
        ) {
            let eq = format!("principalId eq {}", literal(&principal));
            let raw = match (at_scope, scope_first) {
                (false, _) => eq,
                (true, true) => format!("atScope() and {eq}"),
                (true, false) => format!("{eq} and atScope()"),
            };
            let f = parse_assignment_filter(Some(&raw));
            // A value that itself holds ` and ` outside quotes of its own
            // cannot be told apart from two clauses; everything else reads back.
            if !principal.to_ascii_lowercase().contains(" and ") && principal.trim() == principal {
                prop_assert_eq!(
                    f.unwrap(),
                    AssignmentFilter { at_scope, principal_id: Some(principal) }
                );
            }
            if role.trim() == role {
                let raw = format!("roleName eq {}", literal(&role));
                prop_assert_eq!(parse_definition_filter(Some(&raw)).unwrap(), Some(role));
            }
        }
    }
}
