//! Runs an example binary as `cargo run --example` does, with no vault or
//! HSM URL set: it starts the embedded emulator and runs itself again with a
//! managed identity, through the emulator's proxy, challenge verified.

use std::process::Command;

/// The example's standard output, once it has succeeded, with `first_line`
/// (what it says it runs against) first.
pub fn run_example(name: &str, first_line: &str) -> String {
    let exe = std::env::current_exe().expect("test binary");
    let target = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let example = target.join(format!("examples/{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        example.exists(),
        "{} is missing: run the tests with `cargo test --workspace` or `cargo test -p examples`, \
         which build the examples",
        example.display()
    );
    let out = Command::new(&example)
        .env_remove(examples::VAULT_URL_VAR)
        .env_remove(examples::HSM_URL_VAR)
        .output()
        .expect("the example starts");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed:\n{stdout}\n{stderr}");
    assert_eq!(stdout.lines().next(), Some(first_line), "{stdout}");
    stdout
}

/// One test per example: it runs, says `$first_line` first, and prints
/// each of the `$expected` texts.
macro_rules! examples_run {
    ($first_line:expr; $($name:ident => [$($expected:literal),+ $(,)?]),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                let stdout = common::run_example(stringify!($name), $first_line);
                $(assert!(stdout.contains($expected), "{stdout}");)+
            }
        )+
    };
}
pub(crate) use examples_run;
