//! The crate's module graph has no cycle: shared modules never reach back
//! into a service, and services do not reach into each other both ways.
//!
//! A module depends on another when its non-test code names it with a
//! `crate::` or `super::` path. A module and its own ancestors or
//! descendants do not count (a parent declares its children, a child may
//! use its parent's items).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of `src`, by path (`""` for the crate root), with its
/// non-test source.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                walk(&path, &join(prefix, &stem), out);
                continue;
            }
            let name = match stem.as_str() {
                "lib" | "mod" => prefix.to_owned(),
                "main" => continue,
                _ => join(prefix, &stem),
            };
            let text = std::fs::read_to_string(&path).expect("read a source file");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            out.insert(name, code.to_owned());
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut out,
    );
    out
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}::{name}")
    }
}

/// The paths `code` names after `crate::` (resolved from `module` for
/// `super::`), as far as they go through lower-case segments.
fn references(module: &str, code: &str) -> Vec<String> {
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let mut out = Vec::new();
    for (root, base) in [("crate::", ""), ("super::", parent)] {
        for (i, _) in code.match_indices(root) {
            let before = code[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest = &code[i + root.len()..];
            let heads: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .collect(),
                None => vec![rest],
            };
            for head in heads {
                let segs: Vec<&str> = head
                    .trim()
                    .split("::")
                    .map(|s| {
                        s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .next()
                            .unwrap_or("")
                    })
                    .take_while(|s| s.starts_with(|c: char| c.is_ascii_lowercase()))
                    .collect();
                out.push(join(base, &segs.join("::")));
            }
        }
    }
    out
}

/// The longest module that `path` names.
fn module_of<'m>(path: &str, modules: &'m BTreeMap<String, String>) -> Option<&'m String> {
    let mut p = path.to_owned();
    loop {
        if let Some((name, _)) = modules.get_key_value(&p) {
            return Some(name);
        }
        p = p.rsplit_once("::")?.0.to_owned();
    }
}

fn related(a: &str, b: &str) -> bool {
    let under = |x: &str, y: &str| y.is_empty() || x == y || x.starts_with(&format!("{y}::"));
    under(a, b) || under(b, a)
}

#[test]
fn the_module_graph_is_acyclic() {
    let modules = modules();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, code) in &modules {
        for path in references(name, code) {
            if let Some(to) = module_of(&path, &modules).filter(|to| !related(name, to)) {
                edges.entry(name).or_default().insert(to);
            }
        }
    }
    assert!(
        edges.get("vault").is_some_and(|e| e.contains("objects")),
        "the parser finds edges: {edges:?}"
    );
    // Depth-first search; a module met again on the current path closes a cycle.
    fn visit<'a>(
        m: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(i) = path.iter().position(|p| *p == m) {
            panic!("module cycle: {} -> {m}", path[i..].join(" -> "));
        }
        if !done.insert(m) {
            return;
        }
        path.push(m);
        for next in edges.get(m).into_iter().flatten() {
            visit(next, edges, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for m in modules.keys() {
        visit(m, &edges, &mut Vec::new(), &mut done);
    }
}

#[test]
fn references_are_found() {
    let code = "use crate::objects::request::{check_name, Properties};\nuse super::keys::KeyVersion;\nuse crate::{store, error::ServiceError};";
    assert_eq!(
        references("hsm::job_ops", code),
        ["objects::request", "store", "error", "hsm::keys"]
    );
}
