//! `cargo xtask spec-diff DIR`: list every wire fact an upstream spec has
//! that ours lacks or describes differently.
//!
//! Each spec is reduced to a flat map of facts (`path`, `param`, `status`,
//! `model`, `property`, `enum` keys with a type descriptor as value), with
//! `$ref`s resolved across files and `allOf` flattened, so that the two
//! sides compare whatever their layout. Descriptions never count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;

use crate::codegen::spec::Specs;

const HELP: &str = "\
cargo xtask spec-diff DIR

Compares each upstream spec file under DIR (searched recursively) whose
`info.version` we describe with our file of the same name under
specs/<service>/<version>/, and lists every path, verb, parameter, status
code, model property and enum value that upstream has and we lack or
describe differently. Exits non-zero when the list is not empty.
";

pub(crate) fn run(args: &[String]) -> Result<ExitCode, String> {
    let dir = match args {
        [flag] if flag == "-h" || flag == "--help" => {
            print!("{HELP}");
            return Ok(ExitCode::SUCCESS);
        }
        [dir] => PathBuf::from(dir),
        _ => return Err(format!("spec-diff needs one folder\n\n{HELP}")),
    };
    let root = crate::workspace_root();
    let ours = our_specs(&root.join("specs"))?;
    let (compared, differences) = diff_dir(&root, &dir, &ours)?;
    for line in &differences {
        println!("{line}");
    }
    if compared == 0 {
        return Err(format!(
            "no upstream spec under {} has a version we describe",
            dir.display()
        ));
    }
    if differences.is_empty() {
        println!("spec-diff: {compared} upstream file(s) compared, no differences");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "spec-diff: {} difference(s) in {compared} file(s)",
            differences.len()
        );
        Ok(ExitCode::FAILURE)
    }
}

/// Our spec files: (version, file name) -> path.
fn our_specs(specs: &Path) -> Result<BTreeMap<(String, String), PathBuf>, String> {
    let mut out = BTreeMap::new();
    for file in json_files(specs)? {
        let Some(version) = file.parent().and_then(Path::file_name) else {
            continue;
        };
        let Some(name) = file.file_name() else {
            continue;
        };
        out.insert(
            (
                version.to_string_lossy().into_owned(),
                name.to_string_lossy().into_owned(),
            ),
            file.clone(),
        );
    }
    Ok(out)
}

/// Every `.json` file under `dir`, sorted.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| format!("cannot list {}: {e}", d.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "examples") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Compares every upstream file under `dir`; returns how many were compared
/// and the differences.
pub(crate) fn diff_dir(
    root: &Path,
    dir: &Path,
    ours: &BTreeMap<(String, String), PathBuf>,
) -> Result<(usize, Vec<String>), String> {
    let mut compared = 0;
    let mut differences = Vec::new();
    for file in json_files(dir)? {
        let (up_specs, up_entries) = Specs::load(root, std::slice::from_ref(&file))?;
        let json = &up_specs.doc(&up_entries[0]).json;
        if json.get("swagger").is_none() {
            continue;
        }
        let version = json
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(our_file) = ours.get(&(version.clone(), name.clone())) else {
            eprintln!("note: skipping {name} {version}: we describe no such file for that version");
            continue;
        };
        compared += 1;
        let (our_specs, our_entries) = Specs::load(root, std::slice::from_ref(our_file))?;
        let upstream = facts(&up_specs, &up_entries[0])?;
        let mine = facts(&our_specs, &our_entries[0])?;
        for (key, want) in &upstream {
            match mine.get(key) {
                None => differences.push(format!(
                    "{name}: missing {key}{}",
                    if want.is_empty() {
                        String::new()
                    } else {
                        format!(" ({want})")
                    }
                )),
                Some(have) if have != want => differences.push(format!(
                    "{name}: differs {key}: upstream `{want}`, ours `{have}`"
                )),
                Some(_) => {}
            }
        }
    }
    Ok((compared, differences))
}

/// The wire facts of the spec `file`, with the models of every file it reaches.
pub(crate) fn facts(specs: &Specs, file: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let json = &specs.doc(file).json;
    let methods = ["get", "put", "post", "patch", "delete", "head", "options"];
    for section in ["paths", "x-ms-paths"] {
        for (path, item) in json
            .get(section)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            for method in methods {
                let Some(op) = item.get(method) else { continue };
                let op_key = format!("{} {path}", method.to_uppercase());
                let mut info = Vec::new();
                info.push(format!("operationId={}", str_of(op, "operationId")));
                if let Some(p) = op.get("x-ms-pageable") {
                    info.push(format!(
                        "pageable(next={}, item={})",
                        str_of(p, "nextLinkName"),
                        str_of(p, "itemName")
                    ));
                }
                if op
                    .get("x-ms-long-running-operation")
                    .and_then(Value::as_bool)
                    == Some(true)
                {
                    let via = op
                        .pointer("/x-ms-long-running-operation-options/final-state-via")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    info.push(format!("long-running(final-state-via={via})"));
                }
                out.insert(format!("path {op_key}"), info.join(", "));
                let params = item
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .chain(
                        op.get("parameters")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten(),
                    );
                for raw in params {
                    let (pfile, p) = match raw.get("$ref").and_then(Value::as_str) {
                        Some(r) => {
                            let (f, ptr) = specs.resolve(file, r)?;
                            let p = specs.get(&f, &ptr)?.clone();
                            (f, p)
                        }
                        None => (file.to_path_buf(), raw.clone()),
                    };
                    let location = str_of(&p, "in");
                    let mut d = vec![format!(
                        "required={}",
                        p.get("required").and_then(Value::as_bool).unwrap_or(false)
                    )];
                    let ty = if location == "body" {
                        describe(specs, &pfile, p.get("schema").unwrap_or(&Value::Null))?
                    } else {
                        describe(specs, &pfile, &p)?
                    };
                    d.push(format!("type={ty}"));
                    if p.get("x-ms-skip-url-encoding").and_then(Value::as_bool) == Some(true) {
                        d.push("skip-url-encoding".into());
                    }
                    out.insert(
                        format!("param {op_key} {location}:{}", str_of(&p, "name")),
                        d.join(", "),
                    );
                }
                for (code, r) in op
                    .get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let ty = match r.get("schema") {
                        Some(s) => describe(specs, file, s)?,
                        None => "no body".into(),
                    };
                    out.insert(format!("status {op_key} {code}"), ty);
                }
            }
        }
    }
    // Models of every file reached, by name.
    for (path, doc) in &specs.docs {
        for (name, schema) in doc
            .json
            .get("definitions")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let values = enum_values(schema);
            if !values.is_empty() {
                out.insert(format!("enum {name}"), String::new());
                for v in values {
                    out.insert(format!("enum {name} value {v:?}"), String::new());
                }
                continue;
            }
            out.insert(format!("model {name}"), String::new());
            let mut props = BTreeMap::new();
            let mut required = BTreeSet::new();
            flatten(specs, path, schema, &mut props, &mut required)?;
            for (prop, (pfile, p)) in props {
                let mut d = describe(specs, &pfile, &p)?;
                if required.contains(&prop) {
                    d.push_str(", required");
                }
                if p.get("readOnly").and_then(Value::as_bool) == Some(true) {
                    d.push_str(", read-only");
                }
                out.insert(format!("property {name}.{prop}"), d);
            }
        }
    }
    Ok(out)
}

fn flatten(
    specs: &Specs,
    file: &Path,
    schema: &Value,
    props: &mut BTreeMap<String, (PathBuf, Value)>,
    required: &mut BTreeSet<String>,
) -> Result<(), String> {
    for parent in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match parent.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let (f, ptr) = specs.resolve(file, r)?;
                let def = specs.get(&f, &ptr)?.clone();
                flatten(specs, &f, &def, props, required)?;
            }
            None => flatten(specs, file, parent, props, required)?,
        }
    }
    for r in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(r) = r.as_str() {
            required.insert(r.to_string());
        }
    }
    for (name, p) in schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        props.insert(name.clone(), (file.to_path_buf(), p.clone()));
    }
    Ok(())
}

fn enum_values(schema: &Value) -> Vec<String> {
    schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A layout-independent description of a schema's wire type.
fn describe(specs: &Specs, file: &Path, schema: &Value) -> Result<String, String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let (f, ptr) = specs.resolve(file, r)?;
        let def = specs.get(&f, &ptr)?;
        let is_named = ptr.starts_with("/definitions/")
            && (def.get("properties").is_some()
                || def.get("allOf").is_some()
                || def.get("enum").is_some());
        return if is_named {
            Ok(format!("#{}", ptr.rsplit('/').next().unwrap_or("")))
        } else {
            describe(specs, &f, def)
        };
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array)
        && all.len() == 1
        && schema.get("properties").is_none()
    {
        return describe(specs, file, &all[0]);
    }
    let values = enum_values(schema);
    if !values.is_empty() {
        let mut sorted = values;
        sorted.sort();
        return Ok(format!("enum[{}]", sorted.join("|")));
    }
    let ty = str_of(schema, "type");
    let format = str_of(schema, "format");
    Ok(match ty {
        "array" => format!(
            "array<{}>",
            describe(specs, file, schema.get("items").unwrap_or(&Value::Null))?
        ),
        "object" | ""
            if schema
                .get("additionalProperties")
                .is_some_and(Value::is_object) =>
        {
            format!(
                "map<{}>",
                describe(specs, file, &schema["additionalProperties"])?
            )
        }
        "" => "any".to_string(),
        _ if format.is_empty() || format == "uri" => ty.to_string(),
        _ => format!("{ty}/{format}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, json: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, json).unwrap();
        path
    }

    #[test]
    fn allof_and_cross_file_refs_compare_equal_to_a_flat_spec() {
        let tmp = std::env::temp_dir().join(format!("spec-diff-{}", std::process::id()));
        let flat = write(
            &tmp.join("up"),
            "a.json",
            r##"{"swagger":"2.0","info":{"version":"1"},"paths":{},
            "definitions":{"Base":{"properties":{"id":{"type":"string"}}},
                           "Child":{"properties":{"id":{"type":"string"},"n":{"type":"integer","format":"unixtime"}}}}}"##,
        );
        write(
            &tmp.join("ours"),
            "common.json",
            r##"{"swagger":"2.0","info":{"version":"1"},"paths":{},
            "definitions":{"Base":{"properties":{"id":{"type":"string","description":"ours"}}}}}"##,
        );
        let ours = write(
            &tmp.join("ours"),
            "a.json",
            r##"{"swagger":"2.0","info":{"version":"1"},"paths":{},
            "definitions":{"Child":{"allOf":[{"$ref":"common.json#/definitions/Base"}],"properties":{"n":{"type":"integer","format":"unixtime"}}}}}"##,
        );
        let (up, up_e) = Specs::load(&tmp, &[flat]).unwrap();
        let (my, my_e) = Specs::load(&tmp, &[ours]).unwrap();
        assert_eq!(facts(&up, &up_e[0]).unwrap(), facts(&my, &my_e[0]).unwrap());
        std::fs::remove_dir_all(&tmp).ok();
    }
}
