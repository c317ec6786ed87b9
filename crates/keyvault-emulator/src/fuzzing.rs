//! The emulator's parsers of what clients send, for the fuzz targets in
//! `fuzz/` (feature `fuzzing`, off by default; not an API). Request routing
//! is fuzzed through the public [`Emulator`](crate::Emulator) itself.

use std::sync::Arc;

/// Parses a role-assignment `$filter`: whether it is accepted.
pub fn assignment_filter(raw: &str) -> bool {
    crate::hsm::rbac::parse_assignment_filter(Some(raw)).is_ok()
}

/// Parses a role-definition `$filter`: the role name it asks for.
pub fn definition_filter(raw: &str) -> Option<String> {
    crate::hsm::rbac::parse_definition_filter(Some(raw))
        .ok()
        .flatten()
}

/// Decodes a `$skiptoken`: the name a page starts after.
pub fn skiptoken(token: &str) -> Option<String> {
    crate::objects::paging::decode(token)
}

/// Parses a query string into decoded pairs.
pub fn query(q: &str) -> Vec<(String, String)> {
    crate::server::parse_query(Some(q))
}

/// Parses an import document and imports it into a fresh in-memory vault
/// and HSM (on the current Tokio runtime): whether it was accepted.
pub fn import(text: &str) -> bool {
    let Ok(doc) = crate::seed::parse(text) else {
        return false;
    };
    let store = Arc::new(crate::store::Store::in_memory());
    let services = crate::seed::in_memory_services(&store);
    crate::seed::import(doc, &services).is_ok()
}
