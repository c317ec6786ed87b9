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

use model::Part::{Id, Request, Response};

/// A service crate, the spec files it is generated from, and what its
/// handwritten code uses of them.
///
/// Only what is listed is generated, with the models it reaches: no
/// `#[allow(dead_code)]` hides an unused item, so the compiler flags an entry
/// nothing uses any more (remove it), and a missing one fails to resolve
/// (add it). Edit the lists, then run `cargo xtask codegen`.
pub(crate) struct Target {
    /// The crate folder, relative to the workspace root.
    pub crate_dir: &'static str,
    /// Its spec files, relative to the workspace root.
    pub specs: &'static [&'static str],
    /// The operations it uses, by operation id, with the part of each:
    /// `Id` (the span name only), `Request` (and the request builder, with
    /// the page model of a pageable operation) or `Response` (and the
    /// response decoder).
    pub operations: &'static [(&'static str, model::Part)],
    /// The models it names that the operations above do not reach.
    pub models: &'static [&'static str],
}

/// What `cargo xtask codegen` generates.
pub(crate) const TARGETS: &[Target] = &[
    Target {
        crate_dir: "crates/keyvault-secrets",
        specs: &["specs/secrets/2025-07-01/secrets.json"],
        operations: &[
            ("BackupSecret", Response),
            ("DeleteSecret", Response),
            ("GetDeletedSecret", Response),
            ("GetDeletedSecrets", Request),
            ("GetSecret", Response),
            ("GetSecretVersions", Request),
            ("GetSecrets", Request),
            ("PurgeDeletedSecret", Request),
            ("RecoverDeletedSecret", Response),
            ("RestoreSecret", Response),
            ("SetSecret", Response),
            ("UpdateSecret", Response),
        ],
        models: &["ContentType"],
    },
    Target {
        crate_dir: "crates/keyvault-administration",
        specs: &[
            "specs/administration/2025-07-01/backuprestore.json",
            "specs/administration/2025-07-01/rbac.json",
            "specs/administration/2025-07-01/settings.json",
        ],
        operations: &[
            ("FullBackup", Request),
            ("FullBackupStatus", Id),
            ("FullRestoreOperation", Request),
            ("PreFullBackup", Request),
            ("PreFullRestoreOperation", Request),
            ("RestoreStatus", Id),
            ("SelectiveKeyRestoreOperation", Request),
            ("SelectiveKeyRestoreStatus", Id),
            ("RoleAssignments_Create", Response),
            ("RoleAssignments_Delete", Request),
            ("RoleAssignments_Get", Response),
            ("RoleAssignments_ListForScope", Request),
            ("RoleDefinitions_CreateOrUpdate", Response),
            ("RoleDefinitions_Delete", Request),
            ("RoleDefinitions_Get", Response),
            ("RoleDefinitions_List", Request),
            ("GetSetting", Response),
            ("GetSettings", Response),
            ("UpdateSetting", Response),
        ],
        models: &["DataAction", "FullBackupOperation", "RoleScope"],
    },
];

/// Fixture specs whose whole output is kept in `xtask/tests/output`, a
/// crate of the workspace, so that every path of the generator is compiled:
/// (spec file, output folder), relative to the workspace root.
pub(crate) const FIXTURES: &[(&str, &str)] = &[
    (
        "xtask/tests/fixtures/minimal.json",
        "xtask/tests/output/src/minimal_generated",
    ),
    (
        "xtask/tests/fixtures/widgets.json",
        "xtask/tests/output/src/widgets_generated",
    ),
];

pub(crate) const HELP: &str = "\
cargo xtask codegen [--check [-v]] [--spec FILE --out DIR]

  (no options)       regenerate src/generated/ of every service crate from specs/,
                     and the outputs of the fixture specs in xtask/tests/output
  --check            write nothing; list each generated file as ok, stale,
                     missing or orphaned and fail when one is not ok
  -v, --verbose      with --check: show a diff of each stale file
  --spec FILE        generate from one spec file (repeatable) ...
  --out DIR          ... into DIR (with --spec)
";

/// Generates the files of one crate: file name -> formatted source. With a
/// target, only what it uses; without, everything.
pub(crate) fn generate(
    root: &Path,
    specs: &[PathBuf],
    target: Option<&Target>,
) -> Result<BTreeMap<String, String>, String> {
    let (loaded, entries) = spec::Specs::load(root, specs)?;
    let mut api = model::build(&loaded, &entries)?;
    if let Some(t) = target {
        api.keep(t.operations, t.models)
            .map_err(|e| format!("{}: {e}", t.crate_dir))?;
    }
    Ok(emit::emit(&api)?.into_iter().collect())
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
    let jobs: Vec<(PathBuf, Vec<PathBuf>, Option<&Target>)> = match (spec_files.is_empty(), out) {
        (true, None) => TARGETS
            .iter()
            .map(|t| {
                (
                    root.join(t.crate_dir).join("src/generated"),
                    t.specs.iter().map(|s| root.join(s)).collect(),
                    Some(t),
                )
            })
            .chain(
                FIXTURES
                    .iter()
                    .map(|(spec, out)| (root.join(out), vec![root.join(spec)], None)),
            )
            .collect(),
        (false, Some(out)) => vec![(out, spec_files, None)],
        _ => return Err(format!("--spec and --out go together\n\n{HELP}")),
    };
    let mut bad = 0;
    for (dir, specs, target) in jobs {
        let files = generate(&root, &specs, target)?;
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

    fn widgets(
        operations: &'static [(&'static str, model::Part)],
        models: &'static [&'static str],
    ) -> Result<BTreeMap<String, String>, String> {
        let root = crate::workspace_root();
        let target = Target {
            crate_dir: "widgets",
            specs: &[],
            operations,
            models,
        };
        generate(
            &root,
            &[root.join("xtask/tests/fixtures/widgets.json")],
            Some(&target),
        )
    }

    #[test]
    fn only_what_a_target_uses_is_generated() {
        // Deleting a widget needs nothing but its builder.
        let files = widgets(&[("DeleteWidget", Request)], &[]).unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["mod.rs", "widgets.rs"]);
        let w = &files["widgets.rs"];
        assert!(w.contains("fn delete_widget_request("), "{w}");
        assert!(!w.contains("pub struct") && !w.contains("pub enum"), "{w}");

        // The id alone, for a span name.
        let files = widgets(&[("PolishWidget", Id)], &[]).unwrap();
        let w = &files["widgets.rs"];
        assert!(
            w.contains("const POLISH_WIDGET: &str") && !w.contains("fn "),
            "{w}"
        );

        // A pageable operation keeps its page model and what that reaches,
        // across files; a decoder is generated only when asked for.
        let files = widgets(&[("Widgets_List", Request)], &["Job"]).unwrap();
        let w = &files["widgets.rs"];
        for item in [
            "struct WidgetList",
            "struct Widget ",
            "enum Shape",
            "struct Job",
            "enum JobState",
        ] {
            assert!(w.contains(item), "{item}: {w}");
        }
        assert!(!w.contains("fn widgets_list_response"), "{w}");
        assert!(files["common.rs"].contains("struct Problem"));
    }

    #[test]
    fn a_name_the_specs_do_not_define_is_an_error() {
        let err = widgets(&[("RemoveWidget", Request)], &[]).unwrap_err();
        assert!(err.contains("no operation `RemoveWidget`"), "{err}");
        let err = widgets(&[], &["Gadget"]).unwrap_err();
        assert!(err.contains("no model `Gadget`"), "{err}");
    }
}
