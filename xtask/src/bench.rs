//! `cargo xtask bench`: the benchmarks, each run in release and printing its
//! table of ratios measured in the same run (see BENCHMARKS.md).
//!
//! - `scale`: the emulator as its store grows (`cargo bench -p
//!   keyvault-emulator --bench scale`);
//! - `pipeline`: our request pipeline against plain `reqwest`, `azure_core`
//!   and the official client over one transport (`cargo bench -p
//!   keyvault-core --bench pipeline`).
//!
//! `cargo xtask bench [--quick] [NAME...]` runs the named ones (all by
//! default); `--quick` runs small sizes, for a check that they still work.

use std::process::{Command, ExitCode};

/// The benchmarks: name, package, bench target.
const BENCHES: &[(&str, &str, &str)] = &[
    ("scale", "keyvault-emulator", "scale"),
    ("pipeline", "keyvault-core", "pipeline"),
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
    for (name, package, target) in BENCHES {
        if !names.is_empty() && !names.contains(name) {
            continue;
        }
        println!("## {name}");
        let mut cmd = Command::new(&cargo);
        cmd.args(["bench", "-p", package, "--bench", target, "--"]);
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
