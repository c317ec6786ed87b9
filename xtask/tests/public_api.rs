//! The third-party crates in the public API are the ones ARCHITECTURE.md
//! names ("API boundary"): `cargo xtask public-api` passes.

#![allow(clippy::print_stdout)]

use std::path::Path;
use std::process::Command;

#[test]
fn third_party_types_in_the_public_api_are_named_in_architecture_md() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("public-api")
        .current_dir(workspace)
        .output()
        .expect("xtask runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "run `cargo xtask public-api`\n{stdout}{stderr}"
    );
    // The check sees the API: keyvault-core's options name reqwest's
    // client, and its requests http's types.
    for expected in [
        "reqwest::async_impl::client::Client  (in keyvault_core::ClientOptions::http_client)",
        "http::method::Method  (in keyvault_core::http::Method)",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected} not listed:\n{stdout}"
        );
    }
}
