//! `cargo xtask codegen`: generate `src/generated/` of the service crates
//! from the specs under `specs/`.
//!
//! Three stages: [`spec`] loads the spec files and what their `$ref`s reach,
//! [`model`] turns them into structs, enums and operations, [`emit`] writes
//! and formats the Rust source.

pub(crate) mod emit;
pub(crate) mod model;
pub(crate) mod names;
pub(crate) mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A service crate and the spec files it is generated from.
pub(crate) struct Target {
    /// The crate folder, relative to the workspace root.
    pub crate_dir: &'static str,
    /// Its spec files, relative to the workspace root.
    pub specs: &'static [&'static str],
}

/// What `cargo xtask codegen` generates.
pub(crate) const TARGETS: &[Target] = &[
    Target {
        crate_dir: "crates/keyvault-secrets",
        specs: &["specs/secrets/2025-07-01/secrets.json"],
    },
    Target {
        crate_dir: "crates/keyvault-administration",
        specs: &[
            "specs/administration/2025-07-01/backuprestore.json",
            "specs/administration/2025-07-01/rbac.json",
            "specs/administration/2025-07-01/settings.json",
        ],
    },
];

pub(crate) const HELP: &str = "\
cargo xtask codegen [--check [-v]] [--spec FILE --out DIR]

  (no options)       regenerate src/generated/ of every service crate from specs/
  --check            write nothing; list each generated file as ok, stale,
                     missing or orphaned and fail when one is not ok
  -v, --verbose      with --check: show a diff of each stale file
  --spec FILE        generate from one spec file (repeatable) ...
  --out DIR          ... into DIR (with --spec)
";

/// Generates the files of one crate: file name -> formatted source.
pub(crate) fn generate(root: &Path, specs: &[PathBuf]) -> Result<BTreeMap<String, String>, String> {
    let (loaded, entries) = spec::Specs::load(root, specs)?;
    let api = model::build(&loaded, &entries)?;
    Ok(emit::emit(&api, root)?.into_iter().collect())
}

pub(crate) fn run(args: &[String]) -> Result<ExitCode, String> {
    let mut check = false;
    let mut verbose = false;
    let mut spec_files = Vec::new();
    let mut out = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--check" => check = true,
            "-v" | "--verbose" => verbose = true,
            "--spec" => spec_files.push(PathBuf::from(it.next().ok_or("--spec needs a file")?)),
            "--out" => out = Some(PathBuf::from(it.next().ok_or("--out needs a folder")?)),
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("unknown option `{other}`\n\n{HELP}")),
        }
    }
    let root = crate::workspace_root();
    let fix = if spec_files.is_empty() {
        "cargo xtask codegen".to_string()
    } else {
        let specs: Vec<String> = spec_files
            .iter()
            .map(|s| format!("--spec {}", s.display()))
            .collect();
        let out = out
            .as_ref()
            .map(|o| o.display().to_string())
            .unwrap_or_default();
        format!("cargo xtask codegen {} --out {out}", specs.join(" "))
    };
    let jobs: Vec<(PathBuf, Vec<PathBuf>)> = match (spec_files.is_empty(), out) {
        (true, None) => TARGETS
            .iter()
            .map(|t| {
                (
                    root.join(t.crate_dir).join("src/generated"),
                    t.specs.iter().map(|s| root.join(s)).collect(),
                )
            })
            .collect(),
        (false, Some(out)) => vec![(out, spec_files)],
        _ => return Err(format!("--spec and --out go together\n\n{HELP}")),
    };
    let mut bad = 0;
    for (dir, specs) in jobs {
        let files = generate(&root, &specs)?;
        let shown = spec::display_path(&root, &dir);
        if check {
            bad += check_dir(&dir, &shown, &files, verbose)?;
        } else {
            write_dir(&dir, &shown, &files)?;
        }
    }
    if bad > 0 {
        eprintln!("{bad} generated file(s) out of date: run `{fix}`");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The `.rs` files now in `dir`.
fn existing(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut found = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(found);
    };
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            found.insert(name, text);
        }
    }
    Ok(found)
}

fn check_dir(
    dir: &Path,
    shown: &str,
    files: &BTreeMap<String, String>,
    verbose: bool,
) -> Result<usize, String> {
    let now = existing(dir)?;
    let mut bad = 0;
    for (name, want) in files {
        match now.get(name) {
            Some(have) if have == want => println!("ok       {shown}/{name}"),
            Some(have) => {
                bad += 1;
                println!("stale    {shown}/{name}");
                if verbose {
                    let diff = similar::TextDiff::from_lines(have.as_str(), want.as_str());
                    print!(
                        "{}",
                        diff.unified_diff().context_radius(3).header(
                            &format!("{shown}/{name} (on disk)"),
                            &format!("{shown}/{name} (generated)")
                        )
                    );
                }
            }
            None => {
                bad += 1;
                println!("missing  {shown}/{name}");
            }
        }
    }
    for name in now.keys().filter(|n| !files.contains_key(*n)) {
        bad += 1;
        println!("orphaned {shown}/{name}");
    }
    Ok(bad)
}

fn write_dir(dir: &Path, shown: &str, files: &BTreeMap<String, String>) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let now = existing(dir)?;
    for (name, text) in files {
        if now.get(name) == Some(text) {
            println!("unchanged {shown}/{name}");
            continue;
        }
        std::fs::write(dir.join(name), text)
            .map_err(|e| format!("cannot write {shown}/{name}: {e}"))?;
        println!("wrote     {shown}/{name}");
    }
    for name in now.keys().filter(|n| !files.contains_key(*n)) {
        std::fs::remove_file(dir.join(name))
            .map_err(|e| format!("cannot remove {shown}/{name}: {e}"))?;
        println!("removed   {shown}/{name}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated `widgets.rs` of the widgets fixture, whitespace-normalized
    /// so that assertions do not depend on rustfmt's line breaks.
    fn widgets() -> (String, BTreeMap<String, String>) {
        let root = crate::workspace_root();
        let files = generate(&root, &[root.join("xtask/tests/fixtures/widgets.json")]).unwrap();
        let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let files: BTreeMap<String, String> =
            files.into_iter().map(|(k, v)| (k, flat(&v))).collect();
        (files["widgets.rs"].clone(), files)
    }

    #[test]
    fn cross_file_refs_land_in_the_module_of_their_file() {
        let (w, files) = widgets();
        assert!(
            w.contains("pub error: Option<super::common::Problem>"),
            "{w}"
        );
        assert!(files["common.rs"].contains("pub struct Problem"));
        // A model that refers to itself is boxed.
        assert!(
            files["common.rs"].contains("pub cause: Option<Box<Problem>>"),
            "{}",
            files["common.rs"]
        );
        assert!(files["mod.rs"].contains("pub(crate) mod common;"));
    }

    #[test]
    fn all_of_copies_the_parent_fields() {
        let (w, _) = widgets();
        let widget = &w[w.find("pub struct Widget {").unwrap()..];
        let widget = &widget[..widget.find('}').unwrap()];
        assert!(
            widget.contains("#[serde(rename = \"id\")] pub id: String,"),
            "{widget}"
        );
        assert!(
            widget.contains("pub created: Option<time::OffsetDateTime>"),
            "{widget}"
        );
    }

    #[test]
    fn additional_properties_become_maps() {
        let (w, _) = widgets();
        assert!(w.contains("pub labels: Option<std::collections::HashMap<String, String>>"));
        assert!(w.contains("pub scores: Option<std::collections::HashMap<String, f64>>"));
    }

    #[test]
    fn unixtime_fields_use_timestamp_serde() {
        let (w, _) = widgets();
        assert!(w.contains("with = \"time::serde::timestamp::option\" )] pub expires_on: Option<time::OffsetDateTime>"), "{w}");
        assert!(w.contains("#[serde(rename = \"started\", with = \"time::serde::timestamp\")] pub started: time::OffsetDateTime,"), "{w}");
    }

    #[test]
    fn base64url_fields_use_the_generated_helper() {
        let (w, files) = widgets();
        assert!(
            w.contains("with = \"super::base64url::option\" )] pub secret: Option<Vec<u8>>"),
            "{w}"
        );
        assert!(files.contains_key("base64url.rs"));
        assert!(files["mod.rs"].contains("pub(crate) mod base64url;"));
    }

    #[test]
    fn optional_and_required_fields() {
        let (w, _) = widgets();
        assert!(w.contains("#[serde(rename = \"shape\")] pub shape: Shape,"));
        assert!(w.contains("#[serde(rename = \"type\", default, skip_serializing_if = \"Option::is_none\")] pub r#type: Option<String>,"), "{w}");
        // A required enum has no Default, so neither has the struct.
        assert!(
            w.contains(
                "#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)] pub struct Job {"
            ),
            "{w}"
        );
    }

    #[test]
    fn read_only_fields_are_never_serialized() {
        let (w, _) = widgets();
        assert!(
            w.contains("rename = \"created\", default, skip_serializing, with"),
            "{w}"
        );
        assert!(
            w.contains("#[serde(rename = \"items\", default, skip_serializing)] pub items"),
            "{w}"
        );
    }

    #[test]
    fn reserved_words_are_escaped() {
        let (w, _) = widgets();
        assert!(w.contains("pub r#match: Option<bool>"));
        assert!(w.contains(".field(\"type\", &self.r#type)"));
    }

    #[test]
    fn sensitive_fields_are_redacted_in_debug() {
        let (w, _) = widgets();
        assert!(
            w.contains("#[derive(Clone, Serialize, Deserialize, PartialEq)] pub struct Widget"),
            "{w}"
        );
        assert!(
            w.contains(".field(\"secret\", &self.secret.as_ref().map(|_| \"<redacted>\"))"),
            "{w}"
        );
    }

    #[test]
    fn operations_follow_the_core_contract() {
        let (w, _) = widgets();
        assert!(w.contains("pub(crate) const WIDGETS_LIST: &str = \"Widgets_List\";"));
        assert!(
            w.contains("PathParam { name: \"scope\", value: scope, encode: false, }"),
            "{w}"
        );
        assert!(
            w.contains("request.append_query(\"$top\", &top.to_string());"),
            "{w}"
        );
        assert!(
            w.contains("request.append_query(\"kind\", kind.as_str());"),
            "{w}"
        );
        assert!(w.contains("request.set_json(body)?;"), "{w}");
        assert!(!w.contains("api-version"), "the pipeline adds api-version");
        assert!(w.contains("pub(crate) const PUT_WIDGET_SUCCESS: &[StatusCode] = &[StatusCode::OK, StatusCode::CREATED];"), "{w}");
        assert!(w.contains(
            "pub(crate) const POLISH_WIDGET_FINAL_STATE_VIA: &str = \"azure-async-operation\";"
        ));
        assert!(
            w.contains("impl keyvault_core::paging::Paged for WidgetList { type Item = Widget;"),
            "{w}"
        );
        assert!(
            w.contains("(self.items.unwrap_or_default(), self.next_link)"),
            "{w}"
        );
        // No body to decode, no decoder.
        assert!(!w.contains("fn delete_widget_response"));
    }
}
