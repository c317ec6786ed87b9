//! The official `azure_security_keyvault_secrets` client's newest
//! pre-release, with its default transport, as a driver of the clients
//! benchmark: `clients-pre-bench driver official-pre SCENARIO COUNT
//! VAULT_URL`, run by `clients-bench --official-pre BIN`.
//!
//! The scenarios, the measuring and the printed line are those of every
//! Rust driver of the benchmark: this binary compiles `driver.rs` of
//! `bench/clients`, and gives it only the client.

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../../clients/src/driver.rs"]
mod driver;

driver::official_driver!(
    /// The official client, newest pre-release, default transport.
    OfficialPre
);

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((first, rest)) if first == "driver" => match rest.first().map(String::as_str) {
            Some("official-pre") => driver::run::<OfficialPre>(rest),
            Some(other) => {
                Err(format!("unknown driver `{other}` (this binary runs official-pre)").into())
            }
            None => {
                Err("usage: clients-pre-bench driver official-pre SCENARIO COUNT VAULT_URL".into())
            }
        },
        _ => Err("usage: clients-pre-bench driver official-pre SCENARIO COUNT VAULT_URL".into()),
    };
    driver::exit("clients-pre-bench", result)
}
