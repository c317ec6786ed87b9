//! The files the emulator creates are readable by their owner only: its
//! data directory and redb file, the TLS directory, the CA and server keys,
//! and the token signing key (0700 directories, 0600 files).

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use keyvault_emulator::Emulator;
use serde_json::json;

use crate::common::start_with;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn data_and_key_files_are_readable_by_their_owner_only() {
    let root = tempfile::tempdir().unwrap();
    // Directories the emulator creates, parents included.
    let (data, tls) = (
        root.path().join("state/data"),
        root.path().join("state/tls"),
    );
    let env = start_with(Emulator::builder().data_dir(&data).tls_dir(&tls)).await;
    env.set("perms", json!({"value": "v"})).await;
    // Asking for a token creates the signing key in the data directory.
    let url = format!(
        "{}?api-version=2019-08-01&resource=https://vault.azure.net",
        env.emu.identity_endpoint()
    );
    let r = env
        .client
        .get(url)
        .header("X-IDENTITY-HEADER", env.emu.identity_header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    env.emu.shutdown().await;

    for dir in [root.path().join("state"), data.clone(), tls.clone()] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    let private = [
        data.join("emulator.redb"),
        data.join("emulator.key"),
        data.join("token-signing-key.der"),
        tls.join("ca-key.pem"),
        tls.join("server-key.pem"),
    ];
    for file in &private {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    // Every file the emulator wrote is listed above or is a certificate.
    for dir in [&data, &tls] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let public = path.extension().is_some_and(|e| e == "pem")
                && !path.to_string_lossy().ends_with("key.pem");
            assert!(
                public || private.contains(&path),
                "unexpected file {}",
                path.display()
            );
        }
    }

    // A data file left with loose permissions by an older version is
    // tightened when it is opened again.
    let db = data.join("emulator.redb");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let env = start_with(Emulator::builder().data_dir(&data).tls_dir(&tls)).await;
    assert_eq!(env.get("/secrets/perms").await.json["value"], "v");
    env.emu.shutdown().await;
    assert_eq!(mode(&db), 0o600);
}
