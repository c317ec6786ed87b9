//! End-to-end tests of `cargo xtask codegen` and `cargo xtask spec-diff`:
//! golden outputs of the fixture specs (`xtask/tests/output`, a crate of the
//! workspace, so they are compiled too), determinism, freshness of the
//! checked-in generated code, and runs over the upstream specs when they are
//! present beside the workspace.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("xtask runs")
}

/// A fresh, empty scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Generates from `spec` (relative to the workspace) and returns the files.
fn generate(spec: &str, out: &Path) -> Vec<(String, String)> {
    let output = xtask(&["codegen", "--spec", spec, "--out", out.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "codegen failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    files_in(out)
}

/// The files in `dir` with their text, sorted by name.
fn files_in(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// The golden output of `fixture`: `xtask/tests/output/src/<fixture>_generated`,
/// compiled as a crate of the workspace.
fn golden(fixture: &str) -> Vec<(String, String)> {
    files_in(&workspace().join(format!("xtask/tests/output/src/{fixture}_generated")))
}

fn check_fixture(fixture: &str) {
    let out = scratch(fixture);
    let files = generate(&format!("xtask/tests/fixtures/{fixture}.json"), &out);
    assert!(
        files == golden(fixture),
        "the output of the {fixture} fixture changed: review it, then run `cargo xtask codegen`"
    );
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn widgets_fixture() {
    check_fixture("widgets");
}

#[test]
fn minimal_fixture() {
    check_fixture("minimal");
}

#[test]
fn generating_twice_gives_identical_files() {
    let (a, b) = (scratch("twice-a"), scratch("twice-b"));
    let first = generate("xtask/tests/fixtures/widgets.json", &a);
    let second = generate("xtask/tests/fixtures/widgets.json", &b);
    assert_eq!(first, second);
    // Regenerating into the same folder changes nothing either.
    assert_eq!(generate("xtask/tests/fixtures/widgets.json", &a), first);
    std::fs::remove_dir_all(&a).ok();
    std::fs::remove_dir_all(&b).ok();
}

#[test]
fn checked_in_generated_code_is_fresh() {
    let output = xtask(&["codegen", "--check"]);
    assert!(
        output.status.success(),
        "generated code is stale: run `cargo xtask codegen`\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn check_reports_stale_and_orphaned_files_with_a_diff() {
    let out = scratch("check");
    generate("xtask/tests/fixtures/minimal.json", &out);
    let path = out.join("minimal.rs");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("Builds the", "Makes the")).unwrap();
    std::fs::write(out.join("leftover.rs"), "").unwrap();
    let output = xtask(&[
        "codegen",
        "--check",
        "-v",
        "--spec",
        "xtask/tests/fixtures/minimal.json",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains("ok       "), "{stdout}");
    assert!(
        stdout.contains("stale    ") && stdout.contains("minimal.rs"),
        "{stdout}"
    );
    assert!(
        stdout.contains("orphaned ") && stdout.contains("leftover.rs"),
        "{stdout}"
    );
    assert!(stdout.contains("-") && stdout.contains("+"), "{stdout}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("cargo xtask codegen"));
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn no_arguments_prints_help_listing_every_command() {
    let output = xtask(&[]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["test", "codegen", "spec-diff", "help"] {
        assert!(help.contains(command), "{help}");
    }
}

/// The upstream specs of the reference data beside the workspace; without
/// them the test fails under CI and is skipped, visibly, elsewhere.
fn upstream_specs() -> Option<PathBuf> {
    keyvault_testing::reference::require("specs")
}

fn upstream_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            upstream_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

#[test]
fn generates_from_every_upstream_spec() {
    let Some(dir) = upstream_specs() else { return };
    let mut files = Vec::new();
    upstream_files(&dir, &mut files);
    files.sort();
    assert!(!files.is_empty());
    for spec in files {
        let out = scratch("upstream");
        let output = xtask(&[
            "codegen",
            "--spec",
            spec.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(
            output.status.success(),
            "{}: {}",
            spec.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(out.join("mod.rs").is_file());
        std::fs::remove_dir_all(&out).ok();
    }
}

#[test]
fn our_specs_match_upstream() {
    let Some(dir) = upstream_specs() else { return };
    let output = xtask(&["spec-diff", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "spec-diff found differences:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("no differences"), "{stdout}");
}
