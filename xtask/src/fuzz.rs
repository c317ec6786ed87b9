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

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

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

/// The lines of a target's output kept for its report when it fails.
const TAIL_LINES: usize = 80;

/// Runs one target for `seconds` over its seed corpus; whether it found
/// nothing. libFuzzer's own output is summed up in one line; the end of it
/// is shown only when the target fails (with the path of the input that
/// made it fail).
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
    let mut child = Command::new(binary)
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .args(["-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1"])
        .arg(&corpus)
        .arg(&seeds)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run the target {target}: {e}"))?;
    // The target's own output (stdout) and libFuzzer's (stderr), read
    // side by side so that neither pipe fills.
    let stdout = child.stdout.take().map(|out| {
        std::thread::spawn(move || {
            let mut output = Output::default();
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                output.push(line);
            }
            output
        })
    });
    let mut output = Output::default();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            output.push(line);
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("could not wait for the target {target}: {e}"))?;
    let printed = stdout.and_then(|t| t.join().ok()).unwrap_or_default();
    if status.success() {
        eprintln!("fuzz: {target}: {}", output.summary(seconds));
        return Ok(true);
    }
    eprintln!("fuzz: {target} FAILED ({status}); the end of its output:");
    for line in printed.tail.iter().chain(&output.tail) {
        eprintln!("    {line}");
    }
    for line in &output.artifacts {
        eprintln!("fuzz: {target}: {line}");
    }
    Ok(false)
}

/// What is kept of a target's output: its last lines, the lines naming an
/// input it wrote, and the figures of the summary.
#[derive(Default)]
struct Output {
    tail: VecDeque<String>,
    /// libFuzzer's `Test unit written to PATH` lines.
    artifacts: Vec<String>,
    /// The last status line's `cov:`, `ft:` and `corp:` (units) figures.
    coverage: Option<(u64, u64, u64)>,
    /// `stat::NAME: VALUE` lines of the final statistics.
    stats: Vec<(String, u64)>,
}

impl Output {
    fn push(&mut self, line: String) {
        if line.contains("Test unit written to") {
            self.artifacts.push(line.clone());
        }
        if let Some(coverage) = status_figures(&line) {
            self.coverage = Some(coverage);
        }
        let stat = (line.strip_prefix("stat::")).and_then(|l| l.split_once(':'));
        if let Some((name, value)) = stat
            && let Ok(value) = value.trim().parse()
        {
            self.stats.push((name.to_owned(), value));
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    fn stat(&self, name: &str) -> Option<u64> {
        (self.stats.iter()).find_map(|(n, v)| (n == name).then_some(*v))
    }

    /// One line: runs, their rate, coverage, corpus and crashes.
    fn summary(&self, seconds: u32) -> String {
        let figure = |v: Option<u64>| v.map_or("?".to_owned(), |v| v.to_string());
        let (cov, ft, corp) = match self.coverage {
            Some((c, f, u)) => (Some(c), Some(f), Some(u)),
            None => (None, None, None),
        };
        format!(
            "{} runs in {seconds} s ({} exec/s), coverage {} edges, {} features, corpus {} inputs, \
             peak RSS {} MB, crashes 0",
            figure(self.stat("number_of_executed_units")),
            figure(self.stat("average_exec_per_sec")),
            figure(cov),
            figure(ft),
            figure(corp),
            figure(self.stat("peak_rss_mb")),
        )
    }
}

/// The `cov:`, `ft:` and `corp:` figures of a libFuzzer status line
/// (`#N  NEW  cov: 120 ft: 300 corp: 40/2Kb ...`).
fn status_figures(line: &str) -> Option<(u64, u64, u64)> {
    if !line.starts_with('#') {
        return None;
    }
    let mut words = line.split_whitespace();
    let mut after = |label: &str| -> Option<u64> {
        words
            .by_ref()
            .skip_while(|w| *w != label)
            .nth(1)?
            .split('/')
            .next()?
            .parse()
            .ok()
    };
    Some((after("cov:")?, after("ft:")?, after("corp:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_summed_up_from_the_last_status_and_the_final_stats() {
        let mut output = Output::default();
        for line in [
            "INFO: Seed: 42",
            "#2\tINITED cov: 10 ft: 11 corp: 3/30b exec/s: 0 rss: 30Mb",
            "#4096\tpulse  cov: 12 ft: 15 corp: 4/40b lim: 4 exec/s: 2048 rss: 31Mb",
            "#9000\tNEW    cov: 14 ft: 19 corp: 5/52b lim: 4 exec/s: 3000 rss: 31Mb L: 3/4 MS: 1 ChangeBit-",
            "#12000\tDONE   cov: 14 ft: 20 corp: 6/60b lim: 4 exec/s: 2400 rss: 32Mb",
            "Done 12000 runs in 5 second(s)",
            "stat::number_of_executed_units: 12000",
            "stat::average_exec_per_sec:     2400",
            "stat::new_units_added:          3",
            "stat::slowest_unit_time_sec:    0",
            "stat::peak_rss_mb:              32",
        ] {
            output.push(line.to_owned());
        }
        assert_eq!(
            output.summary(5),
            "12000 runs in 5 s (2400 exec/s), coverage 14 edges, 20 features, corpus 6 inputs, \
             peak RSS 32 MB, crashes 0"
        );
        assert!(output.artifacts.is_empty());
    }

    #[test]
    fn a_crash_keeps_the_input_path_and_a_bounded_tail() {
        let mut output = Output::default();
        for i in 0..1000 {
            output.push(format!("#{i}\tNEW    cov: {i} ft: {i} corp: 1/1b"));
        }
        output.push("==1== ERROR: libFuzzer: deadly signal".to_owned());
        output.push("artifact_prefix='a/'; Test unit written to a/crash-0123".to_owned());
        assert_eq!(output.tail.len(), TAIL_LINES);
        assert_eq!(
            output.tail.back().map(String::as_str),
            Some("artifact_prefix='a/'; Test unit written to a/crash-0123")
        );
        assert_eq!(
            output.artifacts,
            ["artifact_prefix='a/'; Test unit written to a/crash-0123"]
        );
        assert_eq!(output.coverage, Some((999, 999, 1)));
    }

    /// A stand-in for a target binary: a script printing `stderr` lines and
    /// exiting with `code`.
    fn stand_in(dir: &Path, name: &str, stderr: &str, code: i32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        let script = format!("#!/bin/sh\nprintf '%s\\n' {stderr} >&2\nexit {code}\n");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn a_target_fails_exactly_when_its_process_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let noisy = "$(seq 1 5000 | sed 's/^/#1 NEW cov: 1 ft: 1 corp: 1\\/1b /')";
        let passing = stand_in(root, "passing", noisy, 0);
        assert!(run_target(root, root, &passing, "passing", 1).unwrap());
        let crash = "'==1== ERROR: libFuzzer: deadly signal' \
                     \"artifact_prefix='a/'; Test unit written to a/crash-0123\"";
        let crashing = stand_in(root, "crashing", crash, 77);
        assert!(!run_target(root, root, &crashing, "crashing", 1).unwrap());
        let missing = root.join("missing");
        assert!(run_target(root, root, &missing, "missing", 1).is_err());
    }
}
