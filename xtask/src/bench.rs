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
//! - `clients`: our `SecretClient`, the official client with its default
//!   transport and plain `reqwest`, each in its own process, against a canned
//!   vault (`bench/clients`, a workspace of its own so that the official
//!   crate stays out of ours: `cargo run --release --manifest-path
//!   bench/clients/Cargo.toml`);
//! - `footprint`: a hello-world app on our crates and on the official ones:
//!   crates, clean debug and release build times, stripped binary size
//!   (`bench/footprint`, a workspace of its own for the same reason;
//!   `--quick` counts crates only).
//!
//! `cargo xtask bench [--quick] [NAME...]` runs the named ones (all by
//! default); `--quick` runs small sizes, for a check that they still work.

use std::process::{Command, ExitCode};

/// How a benchmark is run.
enum Runner {
    /// `cargo bench -p PACKAGE --bench TARGET`, in this workspace.
    Bench {
        package: &'static str,
        target: &'static str,
    },
    /// `cargo run --release --manifest-path MANIFEST`: a workspace of its
    /// own, whose dependencies must stay out of this one.
    Manifest(&'static str),
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
    ("clients", Runner::Manifest("bench/clients/Cargo.toml")),
    ("footprint", Runner::Manifest("bench/footprint/Cargo.toml")),
];

pub(crate) fn run(args: &[String]) -> Result<ExitCode, String> {
    let quick = args.iter().any(|a| a == "--quick");
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
            Runner::Manifest(manifest) => {
                cmd.args(["run", "--release", "--manifest-path", manifest, "--"]);
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
