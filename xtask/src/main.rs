//! Project automation: `cargo xtask <command>`.
//!
//! `cargo xtask` with no arguments prints the list of commands.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod codegen;
mod contract;
mod fuzz;
mod interop;
mod public_api;
mod setup;
mod spec_diff;
mod test;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <command> [options]

Commands:
  test [ARGS]     set up what the tests need (npm packages), then run the whole
                  test suite (`cargo test --workspace`; ARGS go to cargo test)
                  and, without ARGS, the interop scenarios and the contract
                  test
  interop         run the official Python and JavaScript SDKs' scenarios
                  against the emulator (installs them into .interop/venv and
                  node_modules), configured by environment variables only
  contract [--max-examples N] [--seed N]
                  drive the emulator from specs/ with schemathesis (installed
                  into .interop/contract): no server errors, every answer as
                  the spec says
  fuzz [--seconds N] [--build-only] [TARGET...]
                  build the libFuzzer targets of fuzz/ (stable toolchain, no
                  sanitizer) and run each for N seconds (default 60)
  codegen [OPTS]  regenerate src/generated/ of the service crates from specs/;
                  --check lists stale files and fails, -v adds a diff,
                  --spec FILE --out DIR generates from any spec file
  bench [--quick] [NAME...]
                  run the benchmarks in release (scale: the emulator as its
                  store grows; pipeline: our request pipeline against plain
                  reqwest and the official client); --quick: small sizes
  public-api      list the third-party crates whose types the public API of
                  each published crate uses; fails on one that ARCHITECTURE.md
                  (its API boundary section) does not name
  spec-diff DIR   list what the upstream specs under DIR have that specs/
                  lacks or describes differently (for the API versions we target)
  help            print this help
";

fn main() -> ExitCode {
    // Started by cargo as rustdoc, for `public-api`.
    if let Some(real) = std::env::var_os(public_api::RUSTDOC_ENV) {
        return public_api::rustdoc(real);
    }
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let result = match command.as_deref() {
        None | Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Some("test") => test::run(&rest),
        Some("bench") => bench::run(&rest),
        Some("codegen") => codegen::run(&rest),
        Some("contract") => contract::run(&rest),
        Some("fuzz") => fuzz::run(&rest),
        Some("interop") => interop::run(&rest),
        Some("public-api") => public_api::run(&rest),
        Some("spec-diff") => spec_diff::run(&rest),
        Some(other) => {
            eprint!("unknown command `{other}`\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of the xtask folder).
///
/// `cargo run` sets `CARGO_MANIFEST_DIR` for the process it starts; that value
/// wins over the one compiled in, so a binary built in a target directory
/// shared between two checkouts works on the checkout it was run from.
fn workspace_root() -> std::path::PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or(manifest)
}
