//! The footprint of a hello-world app (`get_secret` signed in with the
//! Azure CLI) on our crates and on the official ones: the crates each pulls
//! in (`cargo tree -e normal`), clean debug and release build times (each in
//! a fresh target directory under the main workspace's `target/footprint/`,
//! deleted afterwards), and the stripped release binary's size; then the
//! ratios ours / official and the crates ours adds beyond azure_core,
//! azure_identity and tokio.
//!
//! `cargo xtask bench footprint` runs it; `--quick` counts crates only.

#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// The apps: a label and the package.
const APPS: [(&str, &str); 2] = [("ours", "hello-ours"), ("official", "hello-official")];

/// The crates both apps start from, whose own graphs are not counted as
/// ours.
const BASE: [&str; 3] = ["azure_core", "azure_identity", "tokio"];

/// The targets, ours / official: debug build, release build, binary.
const TARGETS: [f64; 3] = [0.7, 0.75, 0.75];

struct Figures {
    graph: Graph,
    debug: Option<Duration>,
    release: Option<Duration>,
    binary: Option<u64>,
}

fn manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.arg("--quiet");
    cmd
}

/// The crates of `package`'s graph (`name vX.Y.Z`, normal dependencies),
/// with the edges `cargo tree` shows between them.
struct Graph {
    crates: BTreeSet<String>,
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn of(package: &str) -> Result<Self, String> {
        let out = (cargo().args(["tree", "-e", "normal", "--prefix", "depth", "-p", package]))
            .arg("--manifest-path")
            .arg(manifest())
            .output()
            .map_err(|e| format!("could not run cargo tree: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo tree -p {package} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let mut graph = Graph {
            crates: BTreeSet::new(),
            edges: BTreeMap::new(),
        };
        // The crate last seen at each depth: the parent of the next deeper line.
        let mut path: Vec<String> = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let digits = line.chars().take_while(char::is_ascii_digit).count();
            let Ok(depth) = line[..digits].parse::<usize>() else {
                continue;
            };
            let mut words = line[digits..].split_whitespace();
            let (Some(name), Some(version)) = (words.next(), words.next()) else {
                continue;
            };
            let id = format!("{name} {version}");
            path.truncate(depth);
            if let Some(parent) = path.last() {
                graph
                    .edges
                    .entry(parent.clone())
                    .or_default()
                    .insert(id.clone());
            }
            graph.crates.insert(id.clone());
            path.push(id);
        }
        Ok(graph)
    }

    /// The crates reachable from those named `roots` (themselves included).
    fn under(&self, roots: &[&str]) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&String> = (self.crates.iter())
            .filter(|c| roots.iter().any(|r| c.split(' ').next() == Some(*r)))
            .collect();
        while let Some(c) = todo.pop() {
            if seen.insert(c.clone()) {
                todo.extend(self.edges.get(c).into_iter().flatten());
            }
        }
        seen
    }
}

/// Builds `package` from scratch in `dir`; the time it took.
fn build(package: &str, dir: &Path, release: bool) -> Result<Duration, String> {
    let _ = std::fs::remove_dir_all(dir);
    let mut cmd = cargo();
    cmd.args(["build", "-p", package])
        .arg("--manifest-path")
        .arg(manifest())
        .env("CARGO_TARGET_DIR", dir);
    if release {
        cmd.arg("--release");
    }
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("could not run cargo build: {e}"))?;
    if !status.success() {
        return Err(format!("building {package} failed"));
    }
    Ok(started.elapsed())
}

/// The size of `binary` once stripped of symbols (`strip`), or as built
/// when `strip` is missing.
fn stripped_size(binary: &Path) -> Result<u64, String> {
    let stripped = binary.with_extension("stripped");
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len());
    match Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(binary)
        .status()
    {
        Ok(s) if s.success() => size(&stripped),
        _ => {
            println!(
                "(strip is missing: {} is measured as built)",
                binary.display()
            );
            size(binary)
        }
    }
    .map_err(|e| format!("could not read {}: {e}", binary.display()))
}

fn measure(quick: bool) -> Result<Vec<Figures>, String> {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/footprint");
    let mut all = Vec::new();
    for (label, package) in APPS {
        let mut f = Figures {
            graph: Graph::of(package)?,
            debug: None,
            release: None,
            binary: None,
        };
        if !quick {
            let dir = target.join(format!("{label}-debug"));
            f.debug = Some(build(package, &dir, false)?);
            let _ = std::fs::remove_dir_all(&dir);
            let dir = target.join(format!("{label}-release"));
            f.release = Some(build(package, &dir, true)?);
            let binary = dir.join("release").join(package);
            f.binary = Some(stripped_size(&binary)?);
            let _ = std::fs::remove_dir_all(&dir);
        }
        all.push(f);
    }
    Ok(all)
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64()))
}

fn ratio(ours: Option<f64>, official: Option<f64>, target: Option<f64>) -> String {
    match (ours, official) {
        (Some(a), Some(b)) if b > 0.0 => {
            let r = a / b;
            match target {
                Some(t) => format!(
                    "{r:.2}× (target ≤ {t}×: {})",
                    if r <= t { "met" } else { "missed" }
                ),
                None => format!("{r:.2}×"),
            }
        }
        _ => "-".into(),
    }
}

fn main() -> ExitCode {
    let quick = std::env::args().any(|a| a == "--quick");
    let figures = match measure(quick) {
        Ok(f) => f,
        Err(e) => {
            println!("footprint: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (ours, official) = (&figures[0], &figures[1]);
    let mb = |b: Option<u64>| b.map_or("-".into(), |b| format!("{:.1} MB", b as f64 / 1e6));
    let s = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
    let n = |b: Option<u64>| b.map(|b| b as f64);
    println!("| figure | ours | official | ours / official |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| crates (normal dependencies) | {} | {} | {} |",
        ours.graph.crates.len(),
        official.graph.crates.len(),
        ratio(
            Some(ours.graph.crates.len() as f64),
            Some(official.graph.crates.len() as f64),
            None
        )
    );
    let rows = [
        (
            "clean debug build",
            secs(ours.debug),
            secs(official.debug),
            s(ours.debug),
            s(official.debug),
        ),
        (
            "clean release build",
            secs(ours.release),
            secs(official.release),
            s(ours.release),
            s(official.release),
        ),
        (
            "stripped binary",
            mb(ours.binary),
            mb(official.binary),
            n(ours.binary),
            n(official.binary),
        ),
    ];
    for ((what, a, b, x, y), target) in rows.into_iter().zip(TARGETS) {
        println!("| {what} | {a} | {b} | {} |", ratio(x, y, Some(target)));
    }
    let base = ours.graph.under(&BASE);
    let added: Vec<&str> = (ours.graph.crates.iter())
        .filter(|c| !base.contains(*c) && !c.starts_with("hello-"))
        .map(String::as_str)
        .collect();
    let direct: BTreeSet<&str> = ["keyvault-core", "keyvault-secrets"]
        .iter()
        .flat_map(|ours_crate| {
            let node = ours
                .graph
                .crates
                .iter()
                .find(|c| c.starts_with(&format!("{ours_crate} ")));
            node.and_then(|n| ours.graph.edges.get(n))
                .into_iter()
                .flatten()
        })
        .filter(|c| {
            !c.starts_with("keyvault-") && !BASE.iter().any(|b| c.starts_with(&format!("{b} ")))
        })
        .map(String::as_str)
        .collect();
    let only_official = official.graph.crates.difference(&ours.graph.crates).count();
    println!(
        "\nCrates ours adds beyond azure_core, azure_identity and tokio ({}): {}",
        added.len(),
        added.join(", ")
    );
    println!(
        "Direct dependencies of keyvault-core and keyvault-secrets besides them ({}): {}",
        direct.len(),
        direct.into_iter().collect::<Vec<_>>().join(", ")
    );
    println!("Crates only the official app has: {only_official}");
    ExitCode::SUCCESS
}
