//! Role definitions and role assignments: the RBAC routes of the HSM.

use std::ops::Bound;

use http::Method;
use serde_json::Value;

use super::rbac::{self, RoleAssignment, RoleDefinition, action};
use super::{Hsm, Result, State};
use crate::error::{ServiceError, json_response};
use crate::objects::paging;
use crate::server::HttpResponse;
use crate::service::{self, Ctx, method_not_allowed};
use crate::store::Op;

impl Hsm {
    pub(super) fn route_rbac(
        &self,
        c: &Ctx<'_>,
        scope: &str,
        parts: &[&str],
    ) -> Result<HttpResponse> {
        let (req, caller) = (c.req, c.caller);
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
            let page = if definitions {
                self.list_definitions(c)?
            } else {
                self.list_assignments(c, scope)?
            };
            return Ok(json_response(200, &page));
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

    /// A page of the role definitions (built-in first), filtered by
    /// `roleName eq`. Built-in ones are keyed `0/<index>` and custom ones
    /// `1/<name>`, so a page starts with a range lookup at its token.
    fn list_definitions(&self, c: &Ctx<'_>) -> Result<Value> {
        let filter = rbac::parse_definition_filter(c.req.query("$filter"))?;
        let page = paging::page(c.req)?;
        let after = page.after.as_deref();
        let matches = |d: &RoleDefinition| {
            (filter.as_deref()).is_none_or(|f| d.role_name.eq_ignore_ascii_case(f))
        };
        let rows: Vec<(String, RoleDefinition)> = {
            let state = self.lock();
            let built_in = (rbac::built_in().into_iter().enumerate())
                .map(|(i, d)| (format!("0/{i:02}"), d))
                .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a));
            let from = match after.and_then(|a| a.strip_prefix("1/")) {
                Some(a) => Bound::Excluded(a),
                None => Bound::Unbounded,
            };
            let custom = (state.definitions.range::<str, _>((from, Bound::Unbounded)))
                .map(|(k, d)| (format!("1/{k}"), d.clone()));
            (built_in.chain(custom))
                .filter(|(_, d)| matches(d))
                .take(page.max + 1)
                .collect()
        };
        Ok(rbac_page(c, &page, rows, |d| rbac::render_definition(&d)))
    }

    /// A page of the assignments above `scope` (and, without `atScope()`,
    /// below it), filtered by `principalId eq`, in name order from the
    /// page's token.
    fn list_assignments(&self, c: &Ctx<'_>, scope: &str) -> Result<Value> {
        let filter = rbac::parse_assignment_filter(c.req.query("$filter"))?;
        let page = paging::page(c.req)?;
        let rows: Vec<(String, RoleAssignment)> = {
            let state = self.lock();
            (paging::window(&state.assignments, &page))
                .filter(|(_, a)| {
                    rbac::scope_covers(&a.scope, scope)
                        || (!filter.at_scope && rbac::scope_covers(scope, &a.scope))
                })
                .filter(|(_, a)| {
                    (filter.principal_id.as_deref())
                        .is_none_or(|p| a.principal_id.eq_ignore_ascii_case(p))
                })
                .take(page.max + 1)
                .map(|(k, a)| (k.clone(), a.clone()))
                .collect()
        };
        Ok(rbac_page(c, &page, rows, |a| rbac::render_assignment(&a)))
    }

    pub(super) fn put_definition(&self, name: &str, body: &[u8]) -> Result<HttpResponse> {
        refuse_built_in(name, "modified")?;
        if !rbac::is_guid(name) {
            return Err(ServiceError::bad_parameter(format!(
                "The role definition name '{name}' is not valid: it must be a GUID."
            )));
        }
        let key = name.to_ascii_lowercase();
        let _writing = self.lock_writes();
        let d = rbac::parse_definition(body, name, self.lock().definitions.get(&key))?;
        self.store.put(self.tables.definitions, &key, &d)?;
        let out = rbac::render_definition(&d);
        self.lock().definitions.insert(key, d);
        Ok(json_response(201, &out))
    }

    pub(super) fn delete_definition(&self, name: &str) -> Result<HttpResponse> {
        refuse_built_in(name, "deleted")?;
        let key = name.to_ascii_lowercase();
        let _writing = self.lock_writes();
        let state = self.lock();
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
        drop(state);
        (self.store).save(vec![Op::Delete(self.tables.definitions, key.clone())])?;
        self.lock().definitions.remove(&key);
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
        let _writing = self.lock_writes();
        let state = self.lock();
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
        drop(state);
        rbac::check_assignable(&role, scope)?;
        let a = RoleAssignment {
            name: name.to_owned(),
            scope: scope.to_owned(),
            role: new.role,
            principal_id: new.principal_id,
        };
        self.store.put(self.tables.assignments, &key, &a)?;
        let out = rbac::render_assignment(&a);
        self.lock().assignments.insert(key, a);
        Ok(json_response(201, &out))
    }

    pub(super) fn delete_assignment(&self, name: &str) -> Result<HttpResponse> {
        let key = name.to_ascii_lowercase();
        let _writing = self.lock_writes();
        let a = find_assignment(&self.lock(), name)?.clone();
        (self.store).save(vec![Op::Delete(self.tables.assignments, key.clone())])?;
        self.lock().assignments.remove(&key);
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

/// A page of a role listing; its `nextLink` keeps the request's `$filter`.
fn rbac_page<T>(
    c: &Ctx<'_>,
    page: &paging::Page,
    rows: Vec<(String, T)>,
    render: impl Fn(T) -> Value,
) -> Value {
    let mut body = paging::page_of(c.req, c.api, &c.req.path, page, rows, |(_, t)| render(t));
    if let (Some(filter), Some(Value::String(link))) =
        (c.req.query("$filter"), body.get_mut("nextLink"))
    {
        link.push_str("&$filter=");
        let encoded =
            percent_encoding::utf8_percent_encode(filter, percent_encoding::NON_ALPHANUMERIC);
        link.push_str(&encoded.to_string());
    }
    body
}
