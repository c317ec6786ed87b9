//! Spans named after the generated operation ids, and no SAS token in any
//! log line or error.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use keyvault_administration::{BackupAuth, ErrorKind, KeyVaultRoleScope, PollerOptions};

use crate::common::start;

const SECRET: &str = "sig=TOPSECRETsasSIGNATURE";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn spans_carry_operation_ids_and_logs_never_hold_the_sas_token() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("keyvault_core=trace,keyvault_administration=trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let env = start().await;
    // Other tests, on other threads, may have registered the pipeline's
    // callsites while this subscriber was being set: warm them up, then have
    // their interest computed again, with this subscriber known.
    env.settings().list_settings(None).await.unwrap();
    tracing::callsite::rebuild_interest_cache();
    env.access()
        .get_role_definition(KeyVaultRoleScope::Global, "no-such-role", None)
        .await
        .unwrap_err();
    // Storage nobody listens on: the job fails.
    let options = PollerOptions {
        frequency: Some(std::time::Duration::from_millis(20)),
        ..Default::default()
    };
    let e = env
        .backup()
        .begin_backup(
            "http://127.0.0.1:9/devstoreaccount1/backups",
            BackupAuth::sas_token(format!("sv=2019-12-12&{SECRET}")),
            Some(options),
        )
        .await
        .expect("the backup starts")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationFailed, "{e}");
    assert!(!e.to_string().contains(SECRET) && !format!("{e:?}").contains(SECRET));

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    for op in [
        "KeyVault.RoleDefinitions_Get",
        "KeyVault.FullBackup",
        "KeyVault.FullBackupStatus",
    ] {
        assert!(logs.contains(op), "no span {op} in:\n{logs}");
    }
    assert!(
        !logs.contains("TOPSECRET"),
        "the SAS token was logged:\n{logs}"
    );
}
