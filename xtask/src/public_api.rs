//! `cargo xtask public-api`: lists the third-party crates whose types appear
//! in the public API of each published crate, and fails when one appears
//! that ARCHITECTURE.md's "API boundary" list does not name.
//!
//! The API is read from rustdoc's JSON output, which is unstable: the docs
//! are built with a stable toolchain told to accept unstable options
//! (`RUSTC_BOOTSTRAP=1`). That variable is given to rustdoc alone (this
//! program stands in for rustdoc and starts the real one), so dependencies
//! are not rebuilt and the check shares the build with `cargo doc`.

use std::{
    collections::{BTreeMap, BTreeSet, HashSet, VecDeque},
    ffi::OsString,
    path::Path,
    process::{Command, ExitCode},
};

use serde_json::Value;

/// Set to the real rustdoc when this program runs as cargo's rustdoc.
pub(crate) const RUSTDOC_ENV: &str = "XTASK_PUBLIC_API_RUSTDOC";

/// The heading of the ARCHITECTURE.md section that names the allowed crates.
const HEADING: &str = "## API boundary";

/// Crates of the toolchain: their types are always allowed.
const STD: [&str; 5] = ["std", "core", "alloc", "proc_macro", "test"];

/// Where a third-party crate shows: its items, each with the first place
/// of ours that names it.
type Uses = BTreeMap<String, BTreeMap<String, String>>;

/// Runs the check.
pub(crate) fn run(args: &[String]) -> Result<ExitCode, String> {
    if let Some(a) = args.first() {
        return Err(format!("public-api takes no arguments, got `{a}`"));
    }
    let root = crate::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let (crates, workspace, target) = published_crates(&cargo, &root)?;
    let allowed = allow_list(
        &std::fs::read_to_string(root.join("ARCHITECTURE.md"))
            .map_err(|e| format!("could not read ARCHITECTURE.md: {e}"))?,
    )?;
    build_json(&cargo, &root, &crates)?;

    let mut unnamed = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for (package, lib) in &crates {
        let path = Path::new(&target).join("doc").join(format!("{lib}.json"));
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "could not read {}: {e} (was target/doc removed? run `cargo clean --doc`)",
                path.display()
            )
        })?;
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        let uses = third_party(&doc, &workspace)?;
        println!("{package}");
        if uses.is_empty() {
            println!("  (no third-party types)");
        }
        for (krate, items) in &uses {
            let mark = if allowed.contains(krate) { " " } else { "!" };
            println!("{mark} {krate}");
            for (item, place) in items {
                println!("      {item}  (in {place})");
            }
            seen.insert(krate.clone());
            if !allowed.contains(krate) {
                unnamed.insert(krate.clone());
            }
        }
    }
    for stale in allowed.difference(&seen) {
        println!("note: ARCHITECTURE.md names `{stale}`, which no public API uses any more");
    }
    if unnamed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        let list: Vec<_> = unnamed.iter().map(|c| format!("`{c}`")).collect();
        Err(format!(
            "the public API uses types from {}, which ARCHITECTURE.md (\"{HEADING}\") does \
             not name: keep them out of the API, or name the crate there and say why",
            list.join(", ")
        ))
    }
}

/// Runs the real rustdoc with `args`, allowing unstable options.
pub(crate) fn rustdoc(real: OsString) -> ExitCode {
    let status = Command::new(real)
        .args(std::env::args_os().skip(1))
        .env("RUSTC_BOOTSTRAP", "1")
        .status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: could not run rustdoc: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The published library crates of the workspace as (package, lib name),
/// the lib names of all workspace crates, and the target directory.
#[allow(clippy::type_complexity)]
fn published_crates(
    cargo: &str,
    root: &Path,
) -> Result<(Vec<(String, String)>, HashSet<String>, String), String> {
    let out = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let meta: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    let mut crates = Vec::new();
    let mut workspace = HashSet::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default();
        workspace.insert(name.replace('-', "_"));
        let lib = p["targets"].as_array().into_iter().flatten().find(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "lib"))
        });
        // `publish = false` is an empty list of registries.
        let published = !p["publish"].as_array().is_some_and(Vec::is_empty);
        if let (Some(lib), true) = (lib, published) {
            let lib = lib["name"].as_str().unwrap_or(name).replace('-', "_");
            workspace.insert(lib.clone());
            crates.push((name.to_owned(), lib));
        }
    }
    crates.sort();
    let target = meta["target_directory"]
        .as_str()
        .ok_or("cargo metadata gave no target directory")?
        .to_owned();
    Ok((crates, workspace, target))
}

/// Documents `crates` as JSON, once, in the usual target directory.
fn build_json(cargo: &str, root: &Path, crates: &[(String, String)]) -> Result<(), String> {
    let real = std::env::var_os("RUSTDOC").unwrap_or_else(|| "rustdoc".into());
    let me = std::env::current_exe().map_err(|e| format!("where is xtask? {e}"))?;
    let mut cmd = Command::new(cargo);
    cmd.args(["doc", "--no-deps", "--lib", "--quiet"])
        .current_dir(root)
        .env("RUSTDOC", me)
        .env(RUSTDOC_ENV, real)
        .env("RUSTDOCFLAGS", "-Z unstable-options --output-format json")
        .env_remove("CARGO_ENCODED_RUSTDOCFLAGS");
    for (package, _) in crates {
        cmd.args(["-p", package]);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("could not run cargo doc: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo doc (JSON output) failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The crates named by the bullets (`` - `crate` ... ``) of the "API
/// boundary" section.
fn allow_list(markdown: &str) -> Result<BTreeSet<String>, String> {
    let mut lines = markdown.lines().skip_while(|l| !l.starts_with(HEADING));
    if lines.next().is_none() {
        return Err(format!("ARCHITECTURE.md has no `{HEADING}` section"));
    }
    Ok(lines
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect())
}

/// Keys whose values list the ids of child items.
const CHILDREN: [&str; 6] = [
    "items",
    "impls",
    "fields",
    "variants",
    "implementations",
    "tuple",
];

/// The third-party crates whose items the public API of `doc` names.
///
/// Walks every item reachable from the crate root (rustdoc leaves out
/// private and hidden ones): signatures, fields, variants, re-exports,
/// trait impls written in the crate (not auto-trait and blanket impls).
fn third_party(doc: &Value, workspace: &HashSet<String>) -> Result<Uses, String> {
    let index = doc["index"]
        .as_object()
        .ok_or("no `index` in rustdoc JSON")?;
    let paths = doc["paths"]
        .as_object()
        .ok_or("no `paths` in rustdoc JSON")?;
    let crates = doc["external_crates"]
        .as_object()
        .ok_or("no `external_crates` in rustdoc JSON")?;
    let root = key(&doc["root"]).ok_or("no `root` in rustdoc JSON")?;

    // The crate an id belongs to, when it is a third-party one.
    let third = |id: &str| -> Option<(String, String)> {
        let entry = paths.get(id)?;
        let crate_id = key(&entry["crate_id"])?;
        if crate_id == "0" {
            return None;
        }
        let krate = crates.get(&crate_id)?;
        let name = krate["name"].as_str()?;
        let in_toolchain = krate["path"]
            .as_str()
            .is_some_and(|p| p.replace('\\', "/").contains("/rustlib/"));
        if STD.contains(&name) || in_toolchain || workspace.contains(name) {
            return None;
        }
        let path: Vec<&str> = entry["path"]
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        Some((name.to_owned(), path.join("::")))
    };

    let mut uses = Uses::new();
    let mut queue = VecDeque::from([(root, String::new())]);
    let mut visited = HashSet::new();
    while let Some((id, parent)) = queue.pop_front() {
        if !visited.insert(id.clone()) {
            continue;
        }
        let Some(item) = index.get(&id) else { continue };
        let inner = &item["inner"];
        if let Some(imp) = inner.get("impl")
            && (imp["is_synthetic"] == true || !imp["blanket_impl"].is_null())
        {
            continue;
        }
        // A re-export is named by the name it is exported under, and what
        // it exports is walked as a child of the re-exporting module.
        let reexport = inner.get("use").is_some();
        let name = item["name"].as_str().or(inner["use"]["name"].as_str());
        let place = match name {
            Some(name) if parent.is_empty() => name.to_owned(),
            Some(name) => format!("{parent}::{name}"),
            None => parent.clone(),
        };
        let mut refs = Vec::new();
        scan(inner, &mut refs, &mut |child| {
            queue.push_back((child, place.clone()))
        });
        for r in refs {
            if index.contains_key(&r) {
                if reexport {
                    queue.push_back((r, parent.clone()));
                }
            } else if let Some((krate, path)) = third(&r) {
                uses.entry(krate)
                    .or_default()
                    .entry(path)
                    .or_insert_with(|| place.clone());
            }
        }
    }
    Ok(uses)
}

/// Collects the ids `value` refers to (paths to types and traits, and
/// re-exports) into `refs`, and hands the ids of child items to `child`.
fn scan(value: &Value, refs: &mut Vec<String>, child: &mut impl FnMut(String)) {
    match value {
        Value::Object(map) => {
            let is_ref = ["path", "name", "source"]
                .iter()
                .any(|k| map.contains_key(*k));
            if is_ref && let Some(id) = map.get("id").and_then(key) {
                refs.push(id);
            }
            for (k, v) in map {
                if CHILDREN.contains(&k.as_str())
                    && let Value::Array(list) = v
                {
                    for id in list.iter().filter_map(key) {
                        child(id);
                    }
                }
                scan(v, refs, child);
            }
        }
        Value::Array(list) => list.iter().for_each(|v| scan(v, refs, child)),
        _ => {}
    }
}

/// An id as the maps of rustdoc JSON key it: numbers in recent formats,
/// strings in older ones.
fn key(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_is_the_bullets_of_its_section() {
        let md = "# A\n- `not-this`\n## API boundary\nText.\n\n- `http`: the types.\n  more\n- `url` (`Url`)\n## Next\n- `nor-this`\n";
        let list: Vec<_> = allow_list(md).unwrap().into_iter().collect();
        assert_eq!(list, ["http", "url"]);
        assert!(allow_list("# nothing").is_err());
    }

    #[test]
    fn finds_third_party_types_in_signatures_and_re_exports_but_not_blanket_impls() {
        let doc = serde_json::json!({
            "root": 0,
            "index": {
                "0": {"name": "mine", "inner": {"module": {"items": [1, 2, 3]}}},
                "1": {"name": "f", "inner": {"function": {"sig": {
                    "inputs": [["x", {"resolved_path": {"path": "Url", "id": 10, "args": null}}]],
                    "output": {"resolved_path": {"path": "Option", "id": 11, "args": null}}
                }}}},
                "2": {"name": null, "inner": {"use": {"source": "bytes::Bytes", "name": "Bytes", "id": 12}}},
                "3": {"name": "S", "inner": {"struct": {"kind": {"plain": {"fields": []}}, "impls": [4, 5]}}},
                "4": {"name": null, "inner": {"impl": {"is_synthetic": false, "blanket_impl": {"generic": "T"},
                    "trait": {"path": "Instrument", "id": 13, "args": null}}}},
                "5": {"name": null, "inner": {"impl": {"is_synthetic": false, "blanket_impl": null,
                    "trait": {"path": "Stream", "id": 14, "args": null}}}}
            },
            "paths": {
                "10": {"crate_id": 1, "path": ["url", "Url"]},
                "11": {"crate_id": 2, "path": ["core", "option", "Option"]},
                "12": {"crate_id": 3, "path": ["bytes", "Bytes"]},
                "13": {"crate_id": 4, "path": ["tracing", "Instrument"]},
                "14": {"crate_id": 5, "path": ["futures_core", "stream", "Stream"]}
            },
            "external_crates": {
                "1": {"name": "url"}, "2": {"name": "core"}, "3": {"name": "bytes"},
                "4": {"name": "tracing"}, "5": {"name": "futures_core"}
            }
        });
        let uses = third_party(&doc, &HashSet::new()).unwrap();
        let names: Vec<_> = uses.keys().map(String::as_str).collect();
        assert_eq!(names, ["bytes", "futures_core", "url"]);
        assert_eq!(uses["url"]["url::Url"], "mine::f");
        assert_eq!(
            uses["futures_core"]["futures_core::stream::Stream"],
            "mine::S"
        );
    }
}
