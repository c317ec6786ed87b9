//! Role definitions and role assignments: the RBAC routes of the HSM.

use http::Method;
use serde_json::{Value, json};

use super::rbac::{self, RoleAssignment, RoleDefinition, action};
use super::{Hsm, Result, State};
use crate::error::{ServiceError, json_response};
use crate::server::{HttpResponse, Request};
use crate::service::{self, method_not_allowed};
use crate::store::{HSM_ROLE_ASSIGNMENTS, HSM_ROLE_DEFINITIONS, Op};

impl Hsm {
    pub(super) fn route_rbac(
        &self,
        req: &Request,
        caller: Option<&str>,
        scope: &str,
        parts: &[&str],
    ) -> Result<HttpResponse> {
        let kind = parts.first().copied().unwrap_or_default();
        let name = match parts {
            [_] | [_, ""] => None,
            [_, n] => Some(*n),
            _ => return Err(service::no_route(req)),
        };
        let definitions = kind.eq_ignore_ascii_case("roleDefinitions");
        if !definitions && !kind.eq_ignore_ascii_case("roleAssignments") {
            return Err(service::no_route(req));
        }
        let (read, write, delete) = if definitions {
            (
                action::DEFINITIONS_READ,
                action::DEFINITIONS_WRITE,
                action::DEFINITIONS_DELETE,
            )
        } else {
            (
                action::ASSIGNMENTS_READ,
                action::ASSIGNMENTS_WRITE,
                action::ASSIGNMENTS_DELETE,
            )
        };
        let needed = match (&req.method, name) {
            (&Method::GET, _) => read,
            (&Method::PUT, Some(_)) => write,
            (&Method::DELETE, Some(_)) => delete,
            (_, None) => return Ok(method_not_allowed("GET")),
            (_, Some(_)) => return Ok(method_not_allowed("GET, PUT, DELETE")),
        };
        self.authorize(caller, needed, scope)?;
        let Some(n) = name else {
            let value = if definitions {
                self.list_definitions(req)?
            } else {
                self.list_assignments(req, scope)?
            };
            return Ok(json_response(
                200,
                &json!({"value": value, "nextLink": null}),
            ));
        };
        match (definitions, &req.method) {
            (true, &Method::GET) => {
                let d = find_definition(&self.lock(), n)?;
                Ok(json_response(200, &rbac::render_definition(&d)))
            }
            (true, &Method::PUT) => self.put_definition(n, &req.body),
            (true, _) => self.delete_definition(n),
            (false, &Method::GET) => {
                let state = self.lock();
                let a = find_assignment(&state, n)?;
                Ok(json_response(200, &rbac::render_assignment(a)))
            }
            (false, &Method::PUT) => self.put_assignment(scope, n, &req.body),
            (false, _) => self.delete_assignment(n),
        }
    }

    /// Every role definition (built-in first), filtered by `roleName eq`.
    fn list_definitions(&self, req: &Request) -> Result<Vec<Value>> {
        let filter = rbac::parse_definition_filter(req.query("$filter"))?;
        let state = self.lock();
        Ok(rbac::all_definitions(&state.definitions)
            .iter()
            .filter(|d| {
                filter
                    .as_deref()
                    .is_none_or(|f| d.role_name.eq_ignore_ascii_case(f))
            })
            .map(rbac::render_definition)
            .collect())
    }

    /// The assignments above `scope` (and, without `atScope()`, below it),
    /// filtered by `principalId eq`.
    fn list_assignments(&self, req: &Request, scope: &str) -> Result<Vec<Value>> {
        let filter = rbac::parse_assignment_filter(req.query("$filter"))?;
        let state = self.lock();
        Ok(state
            .assignments
            .values()
            .filter(|a| {
                rbac::scope_covers(&a.scope, scope)
                    || (!filter.at_scope && rbac::scope_covers(scope, &a.scope))
            })
            .filter(|a| {
                filter
                    .principal_id
                    .as_deref()
                    .is_none_or(|p| a.principal_id.eq_ignore_ascii_case(p))
            })
            .map(rbac::render_assignment)
            .collect())
    }

    pub(super) fn put_definition(&self, name: &str, body: &[u8]) -> Result<HttpResponse> {
        refuse_built_in(name, "modified")?;
        if !rbac::is_guid(name) {
            return Err(ServiceError::bad_parameter(format!(
                "The role definition name '{name}' is not valid: it must be a GUID."
            )));
        }
        let key = name.to_ascii_lowercase();
        let mut state = self.lock();
        let d = rbac::parse_definition(body, name, state.definitions.get(&key))?;
        self.store.put(HSM_ROLE_DEFINITIONS, &key, &d)?;
        let out = rbac::render_definition(&d);
        state.definitions.insert(key, d);
        Ok(json_response(201, &out))
    }

    pub(super) fn delete_definition(&self, name: &str) -> Result<HttpResponse> {
        refuse_built_in(name, "deleted")?;
        let key = name.to_ascii_lowercase();
        let mut state = self.lock();
        let d = state
            .definitions
            .get(&key)
            .cloned()
            .ok_or_else(|| definition_not_found(name))?;
        if let Some(a) = state.assignments.values().find(|a| a.role == key) {
            return Err(ServiceError::new(
                409,
                "RoleDefinitionHasAssignments",
                format!(
                    "Role definition {name} cannot be deleted: it is used by role assignment {}. Delete its assignments first.",
                    a.name
                ),
            ));
        }
        (self.store).save(vec![Op::Delete(HSM_ROLE_DEFINITIONS, key.clone())])?;
        state.definitions.remove(&key);
        Ok(json_response(200, &rbac::render_definition(&d)))
    }

    pub(super) fn put_assignment(
        &self,
        scope: &str,
        name: &str,
        body: &[u8],
    ) -> Result<HttpResponse> {
        if !rbac::is_guid(name) {
            return Err(ServiceError::bad_parameter(format!(
                "The role assignment name '{name}' is not valid: it must be a GUID."
            )));
        }
        let new = rbac::parse_assignment(body)?;
        let key = name.to_ascii_lowercase();
        let mut state = self.lock();
        if state.assignments.contains_key(&key) {
            return Err(ServiceError::new(
                409,
                "RoleAssignmentExists",
                format!("The role assignment {name} already exists."),
            ));
        }
        let Ok(role) = find_definition(&state, &new.role) else {
            return Err(ServiceError::bad_parameter(format!(
                "Requested role definition {} does not exist.",
                new.role
            )));
        };
        rbac::check_assignable(&role, scope)?;
        let a = RoleAssignment {
            name: name.to_owned(),
            scope: scope.to_owned(),
            role: new.role,
            principal_id: new.principal_id,
        };
        self.store.put(HSM_ROLE_ASSIGNMENTS, &key, &a)?;
        let out = rbac::render_assignment(&a);
        state.assignments.insert(key, a);
        Ok(json_response(201, &out))
    }

    pub(super) fn delete_assignment(&self, name: &str) -> Result<HttpResponse> {
        let key = name.to_ascii_lowercase();
        let mut state = self.lock();
        let a = find_assignment(&state, name)?.clone();
        (self.store).save(vec![Op::Delete(HSM_ROLE_ASSIGNMENTS, key.clone())])?;
        state.assignments.remove(&key);
        Ok(json_response(200, &rbac::render_assignment(&a)))
    }
}

/// `403` when `name` is a built-in role, which cannot be `done` (modified or
/// deleted).
fn refuse_built_in(name: &str, done: &str) -> Result<()> {
    if rbac::built_in()
        .iter()
        .any(|d| d.name.eq_ignore_ascii_case(name))
    {
        return Err(ServiceError::new(
            403,
            "Forbidden",
            format!(
                "Role definition {name} is a built-in role (AKVBuiltInRole); built-in roles cannot be {done}."
            ),
        ));
    }
    Ok(())
}

fn definition_not_found(name: &str) -> ServiceError {
    ServiceError::new(
        404,
        "RoleDefinitionNotFound",
        format!("Requested role definition {name} was not found."),
    )
}

fn find_definition(state: &State, name: &str) -> Result<RoleDefinition> {
    rbac::all_definitions(&state.definitions)
        .into_iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| definition_not_found(name))
}

fn find_assignment<'s>(state: &'s State, name: &str) -> Result<&'s RoleAssignment> {
    state
        .assignments
        .get(&name.to_ascii_lowercase())
        .ok_or_else(|| {
            ServiceError::new(
                404,
                "RoleAssignmentNotFound",
                format!("Requested role assignment {name} was not found."),
            )
        })
}
