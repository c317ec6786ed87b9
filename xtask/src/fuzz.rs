//! `cargo xtask fuzz [--seconds N] [--build-only] [TARGET...]`: builds the
//! libFuzzer targets of `fuzz/` (a workspace of its own) on a stable
//! toolchain and runs each for a bounded time over its seed corpus.
//!
//! No nightly is needed: the coverage instrumentation libFuzzer feeds on
//! comes from stable `-C` flags (LLVM's `sancov-module` pass and its
//! options), the same cargo-fuzz passes with `--sanitizer none`; only the
//! address sanitizer needs nightly, and safe Rust does not. The targets are
//! built in release with debug assertions and overflow checks into
//! `target/fuzz`, so that these flags never touch the main build's cache.
//! Inputs found on the way are kept in `target/fuzz/corpus/TARGET`; a crash
//! is written to `target/fuzz/artifacts/TARGET/` and fails the run.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The targets, in the order they run.
pub(crate) const TARGETS: &[&str] = &[
    "challenge",
    "ids",
    "tokens",
    "error_body",
    "retry_after",
    "filter",
    "import",
    "router",
];

/// How long each target runs by default.
const DEFAULT_SECONDS: u32 = 60;

/// The flags cargo-fuzz gives rustc for a build without a sanitizer.
const RUSTFLAGS: &[&str] = &[
    "--cfg",
    "fuzzing",
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
];

/// What the command line asked for.
pub(crate) struct Options {
    /// Seconds per target; 0 builds only.
    pub(crate) seconds: u32,
    /// The targets to run (all when empty).
    pub(crate) targets: Vec<String>,
}

pub(crate) fn run(args: &[String]) -> Result<ExitCode, String> {
    let mut options = Options {
        seconds: DEFAULT_SECONDS,
        targets: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let v = args.next().ok_or("--seconds needs a value")?;
                options.seconds = v.parse().map_err(|e| format!("--seconds: {e}"))?;
            }
            "--build-only" => options.seconds = 0,
            t if TARGETS.contains(&t) => options.targets.push(t.to_owned()),
            other => {
                return Err(format!(
                    "unknown fuzz target or option `{other}` (targets: {})",
                    TARGETS.join(", ")
                ));
            }
        }
    }
    fuzz(&options)
}

/// Builds the targets, then runs each selected one for `options.seconds`.
pub(crate) fn fuzz(options: &Options) -> Result<ExitCode, String> {
    let root = crate::workspace_root();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| root.join(d))
        .unwrap_or_else(|| root.join("target"))
        .join("fuzz");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // With an explicit target, RUSTFLAGS reach only the targets' code, not
    // build scripts and proc macros (which have no libFuzzer to link).
    let host = host_triple()?;
    eprintln!("fuzz: building the targets (release, coverage instrumentation)");
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--target", &host])
        .arg("--manifest-path")
        .arg(root.join("fuzz/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTFLAGS", RUSTFLAGS.join(" "))
        // Flags meant for the main build would change these.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the fuzz targets failed: {status}"));
    }
    if options.seconds == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    let selected: Vec<&str> = if options.targets.is_empty() {
        TARGETS.to_vec()
    } else {
        options.targets.iter().map(String::as_str).collect()
    };
    let mut failed = Vec::new();
    for target in selected {
        let binary = target_dir.join(&host).join("release").join(target);
        if !run_target(&root, &target_dir, &binary, target, options.seconds)? {
            failed.push(target);
        }
    }
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!(
            "fuzz targets failed: {} (inputs in {})",
            failed.join(", "),
            target_dir.join("artifacts").display()
        ))
    }
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("could not run rustc: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "rustc -vV names no host".to_owned())
}

/// Runs one target for `seconds` over its seed corpus; whether it found nothing.
fn run_target(
    root: &Path,
    target_dir: &Path,
    binary: &Path,
    target: &str,
    seconds: u32,
) -> Result<bool, String> {
    let corpus = target_dir.join("corpus").join(target);
    let artifacts = target_dir.join("artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    }
    let seeds: PathBuf = root.join("fuzz/corpus").join(target);
    eprintln!("fuzz: {target} for {seconds} s");
    let status = Command::new(binary)
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .args(["-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1"])
        .arg(&corpus)
        .arg(&seeds)
        .status()
        .map_err(|e| format!("could not run the target {target}: {e}"))?;
    Ok(status.success())
}
