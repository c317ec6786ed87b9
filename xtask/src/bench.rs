//! `cargo xtask bench`: the benchmarks, each run in release and printing its
//! table of ratios measured in the same run (see BENCHMARKS.md).
//!
//! - `scale`: the emulator as its store grows (`cargo bench -p
//!   keyvault-emulator --bench scale`);
//! - `pipeline`: our request pipeline against plain `reqwest`, `azure_core`
//!   and the official client over one transport (`cargo bench -p
//!   keyvault-core --bench pipeline`);
//! - `cache`: a `SecretCache` hit, and the requests a crowd of readers sends
//!   (`cargo bench -p keyvault-secrets --bench cache`);
//! - `clients`: our `SecretClient`, the official client (newest stable and
//!   newest pre-release) with its default transport, plain `reqwest` and the
//!   official Python SDK, each in its own process, against a canned vault
//!   and the release emulator (`bench/clients`, a workspace of its own so
//!   that its dependencies stay out of ours: `cargo run --release
//!   --manifest-path bench/clients/Cargo.toml`). Before it runs, the
//!   emulator and the official client's two drivers (`bench/official/stable`
//!   and `bench/official/pre`, a workspace each: two semver-compatible
//!   versions of a crate cannot share a lock file, and beside another
//!   driver the official crate's `reqwest` would not be its default
//!   transport) are built in release and the Python SDK installed in a venv
//!   in the target directory; with `--callgrind`, each driver also runs
//!   under valgrind's callgrind for instruction counts.
//! - `footprint`: a hello-world app on our crates and on the official ones:
//!   crates, clean debug and release build times, stripped binary size
//!   (`bench/footprint`, a workspace of its own for the same reason;
//!   `--quick` counts crates only).
//!
//! `cargo xtask bench [--quick] [--callgrind] [NAME...]` runs the named ones
//! (all by default); `--quick` runs small sizes, for a check that they still
//! work.

use std::{
    path::Path,
    process::{Command, ExitCode},
};

/// How a benchmark is run.
enum Runner {
    /// `cargo bench -p PACKAGE --bench TARGET`, in this workspace.
    Bench {
        package: &'static str,
        target: &'static str,
    },
    /// `cargo run --release --manifest-path MANIFEST -- ARGS`: a workspace
    /// of its own, whose dependencies must stay out of this one; `prepare`
    /// readies what it needs and gives the arguments.
    Manifest {
        manifest: &'static str,
        prepare: fn(&Path, &str) -> Vec<String>,
    },
}

/// The benchmarks: name, how to run it.
const BENCHES: &[(&str, Runner)] = &[
    (
        "scale",
        Runner::Bench {
            package: "keyvault-emulator",
            target: "scale",
        },
    ),
    (
        "pipeline",
        Runner::Bench {
            package: "keyvault-core",
            target: "pipeline",
        },
    ),
    (
        "cache",
        Runner::Bench {
            package: "keyvault-secrets",
            target: "cache",
        },
    ),
    (
        "clients",
        Runner::Manifest {
            manifest: "bench/clients/Cargo.toml",
            prepare: prepare_clients,
        },
    ),
    (
        "footprint",
        Runner::Manifest {
            manifest: "bench/footprint/Cargo.toml",
            prepare: |_, _| Vec::new(),
        },
    ),
];

/// What the clients benchmark runs beside the drivers of its own workspace:
/// the official client's drivers (`bench/official`), the release
/// emulator as a second vault, and the Python SDK in a venv under
/// `target/`. What cannot be readied is left out, with a message.
fn prepare_clients(root: &Path, cargo: &str) -> Vec<String> {
    let mut args = Vec::new();
    for (release, manifest, flag) in [
        (
            "stable release",
            "bench/official/stable/Cargo.toml",
            "--official",
        ),
        (
            "pre-release",
            "bench/official/pre/Cargo.toml",
            "--official-pre",
        ),
    ] {
        match build_binary(root, cargo, manifest) {
            Some(binary) => args.extend([flag.to_owned(), binary.display().to_string()]),
            None => eprintln!(
                "the official {release}'s driver ({manifest}) could not be built; \
                 its column is left out"
            ),
        }
    }
    let built = Command::new(cargo)
        .args(["build", "--release", "-p", "keyvault-emulator", "--bin"])
        .arg("keyvault-emulator")
        .current_dir(root)
        .status();
    if built.is_ok_and(|s| s.success()) {
        let binary = target_dir(root).join("release/keyvault-emulator");
        args.extend(["--emulator".to_owned(), binary.display().to_string()]);
    } else {
        eprintln!("the release emulator could not be built; the emulator rows are left out");
    }
    let venv = target_dir(root).join("bench-venv");
    let python = venv.join("bin/python");
    let ready = python.exists()
        || (Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status())
        .is_ok_and(|s| s.success());
    let installed = ready
        && (Command::new(&python).args(["-m", "pip", "install", "--quiet"]))
            .args(["azure-keyvault-secrets", "azure-core"])
            .status()
            .is_ok_and(|s| s.success());
    if installed {
        args.extend(["--python".to_owned(), python.display().to_string()]);
    } else {
        eprintln!(
            "the Python SDK could not be installed in {} (python3 with venv and pip needed); \
             the Python column is left out",
            venv.display()
        );
    }
    args
}

/// Builds the one binary of the workspace of `manifest` in release; its
/// path, as Cargo reports it (wherever the target directory is).
fn build_binary(root: &Path, cargo: &str, manifest: &str) -> Option<std::path::PathBuf> {
    let output = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--message-format=json-render-diagnostics",
        ])
        .args(["--manifest-path", manifest])
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    (String::from_utf8_lossy(&output.stdout).lines())
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter_map(|message| message["executable"].as_str().map(std::path::PathBuf::from))
        .next_back()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace
/// root when relative), else `target/` in the workspace.
fn target_dir(root: &Path) -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

pub(crate) fn run(args: &[String]) -> Result<ExitCode, String> {
    let quick = args.iter().any(|a| a == "--quick");
    let callgrind = args.iter().any(|a| a == "--callgrind");
    let names: Vec<&str> = (args.iter())
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    if let Some(unknown) = (names.iter()).find(|n| !BENCHES.iter().any(|(b, ..)| b == *n)) {
        let known: Vec<&str> = BENCHES.iter().map(|(b, ..)| *b).collect();
        return Err(format!(
            "unknown benchmark `{unknown}` (known: {})",
            known.join(", ")
        ));
    }
    let root = crate::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    for (name, runner) in BENCHES {
        if !names.is_empty() && !names.contains(name) {
            continue;
        }
        println!("## {name}");
        let mut cmd = Command::new(&cargo);
        match runner {
            Runner::Bench { package, target } => {
                cmd.args(["bench", "-p", package, "--bench", target, "--"]);
            }
            Runner::Manifest { manifest, prepare } => {
                cmd.args(["run", "--release", "--manifest-path", manifest, "--"]);
                cmd.args(prepare(&root, &cargo));
                if callgrind {
                    cmd.arg("--callgrind");
                }
            }
        }
        if quick {
            cmd.arg("--quick");
        }
        let status =
            (cmd.current_dir(&root).status()).map_err(|e| format!("could not run cargo: {e}"))?;
        if !status.success() {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}
