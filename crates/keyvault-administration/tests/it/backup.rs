//! `KeyVaultBackupClient` against the emulator's Managed HSM, writing to
//! Azurite (started from the workspace's `node_modules`; when it is missing
//! these tests fail and say how to install it).

use futures::TryStreamExt;
use keyvault_administration::{
    ApiVersion, BackupAuth, ClientOptions, ErrorKind, KeyVaultBackupClient, KeyVaultSetting,
    PollStatus, PollerOptions, RestoreOptions,
};
use keyvault_core::{
    ClientInfo, Context, Pipeline,
    http::{Method, Request},
};
use serde_json::json;

use crate::azurite::Azurite;
use crate::common::{Env, account_sas, create_container, start};

const ARM: &str = "AllowKeyManagementOperationsThroughARM";

/// A raw pipeline to the HSM's key routes (the keys client is not ours).
fn keys(env: &Env) -> Pipeline {
    let info = ClientInfo {
        name: "test",
        version: "0",
    };
    Pipeline::new(
        info,
        env.credential.clone(),
        "7.5",
        ClientOptions::emulator(Some(env.emu.ca_cert_pem().as_bytes())),
    )
    .expect("pipeline")
}

pub(crate) async fn key_call(
    env: &Env,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> u16 {
    let url = url::Url::parse(&format!(
        "{}{path}",
        env.emu.hsm_url().trim_end_matches('/')
    ))
    .unwrap();
    let mut request = Request::new(method, url);
    if let Some(b) = body {
        request.set_json(&b).unwrap();
    }
    keys(env)
        .send_raw(&Context::new("KeyCall"), request)
        .await
        .expect("key call")
        .status()
        .as_u16()
}

fn fast() -> Option<PollerOptions> {
    Some(PollerOptions {
        frequency: Some(std::time::Duration::from_millis(50)),
        ..Default::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_checks_full_and_selective_restore() {
    let az = Azurite::start();
    let sas = account_sas("rwdlac");
    let container = create_container(&az, "hsm-backups", &sas).await;
    let env = start().await;
    backup_checks_and_restores(&env, &container, || BackupAuth::sas_token(sas.clone())).await;
}

/// Pre-backup, backup, pre-restore, full restore and selective key restore
/// of `env`'s HSM in `container`, each authorised by `auth`.
pub(crate) async fn backup_checks_and_restores(
    env: &Env,
    container: &str,
    auth: impl Fn() -> BackupAuth,
) {
    let client = env.backup();
    let settings = env.settings();

    assert_eq!(
        key_call(
            env,
            Method::POST,
            "/keys/k1/create",
            Some(json!({"kty": "EC-HSM"}))
        )
        .await,
        200
    );

    client
        .begin_pre_backup(container, auth(), fast())
        .await
        .expect("pre-backup starts")
        .await
        .expect("pre-backup passes");

    let mut poller = client
        .begin_backup(container, auth(), fast())
        .await
        .expect("backup starts");
    let statuses: Vec<PollStatus> = poller
        .status_stream()
        .try_collect()
        .await
        .expect("statuses");
    assert_eq!(
        statuses.last(),
        Some(&PollStatus::Succeeded),
        "{statuses:?}"
    );
    assert!(poller.is_done());
    let backup = poller.await.expect("backup");
    assert!(
        backup.folder_url.starts_with(&format!("{container}/mhsm-")),
        "{} in {container}",
        backup.folder_url
    );

    client
        .begin_pre_restore(&backup.folder_url, auth(), fast())
        .await
        .expect("pre-restore starts")
        .await
        .expect("pre-restore passes");

    // A change after the backup is undone by a full restore.
    settings
        .update_setting(&KeyVaultSetting::boolean(ARM, true), None)
        .await
        .unwrap();
    client
        .begin_restore(
            &backup.folder_url,
            auth(),
            Some(RestoreOptions {
                frequency: Some(std::time::Duration::from_millis(50)),
                ..Default::default()
            }),
        )
        .await
        .expect("restore starts")
        .await
        .expect("restore");
    assert!(
        !settings
            .get_setting(ARM, None)
            .await
            .unwrap()
            .as_bool()
            .unwrap()
    );

    // A deleted and purged key comes back with a selective restore.
    assert_eq!(key_call(env, Method::DELETE, "/keys/k1", None).await, 200);
    assert_eq!(
        key_call(env, Method::DELETE, "/deletedkeys/k1", None).await,
        204
    );
    assert_eq!(key_call(env, Method::GET, "/keys/k1", None).await, 404);
    let options = RestoreOptions {
        key_name: Some("k1".into()),
        frequency: Some(std::time::Duration::from_millis(50)),
        ..Default::default()
    };
    client
        .begin_restore(&backup.folder_url, auth(), Some(options))
        .await
        .expect("selective restore starts")
        .await
        .expect("selective restore");
    assert_eq!(key_call(env, Method::GET, "/keys/k1", None).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_and_resumed_pollers() {
    let az = Azurite::start();
    let sas = account_sas("rwdlac");
    let container = create_container(&az, "resumed", &sas).await;
    let env = start().await;
    let client = env.backup();

    // A SAS token the storage refuses: the job fails with the service's
    // error, and the token is in no error text.
    let bad = "sv=2019-12-12&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00%3A00%3A00Z&spr=https%2Chttp&sig=bm90LWEtc2lnbmF0dXJl";
    let e = client
        .begin_backup(&container, BackupAuth::sas_token(bad), fast())
        .await
        .expect("the start is accepted")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationFailed, "{e}");
    assert!(e.error_code().is_some_and(|c| !c.is_empty()), "{e:?}");
    assert!(e.service_message().is_some(), "{e:?}");
    assert!(!e.to_string().contains("bm90LWEtc2lnbmF0dXJl"), "{e}");
    assert!(!format!("{e:?}").contains("bm90LWEtc2lnbmF0dXJl"));

    // A backup resumed by another client from its token.
    let poller = client
        .begin_backup(&container, BackupAuth::sas_token(sas.clone()), fast())
        .await
        .expect("backup starts");
    let token = poller.resume_token();
    assert!(!token.contains(&sas), "the token holds no SAS");
    drop(poller);
    let other: KeyVaultBackupClient = env.backup();
    let backup = other
        .resume_backup(&token, fast())
        .expect("resume")
        .await
        .expect("backup");
    assert!(
        backup.folder_url.starts_with(&container),
        "{}",
        backup.folder_url
    );
    // Resuming a finished job gives the same result again.
    let again = other.resume_backup(&token, fast()).unwrap().await.unwrap();
    assert_eq!(again, backup);

    // A restore resumed from its token.
    let poller = client
        .begin_restore(&backup.folder_url, BackupAuth::sas_token(sas.clone()), None)
        .await
        .expect("restore starts");
    let token = poller.resume_token();
    drop(poller);
    let mut resumed = other
        .resume_restore(&token, fast())
        .expect("resume restore");
    while !resumed.poll().await.expect("poll").is_terminal() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(resumed.status(), PollStatus::Succeeded);
    resumed.await.expect("restore");

    // Pre-checks resume too, and a pre-restore of a folder that is not a
    // backup fails.
    let pre = client
        .begin_pre_restore(
            &format!("{container}/no-such-folder"),
            BackupAuth::sas_token(sas.clone()),
            fast(),
        )
        .await
        .expect("pre-restore starts");
    let token = pre.resume_token();
    let e = other
        .resume_pre_restore(&token, fast())
        .unwrap()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationFailed, "{e}");
    let pre = client
        .begin_pre_backup(&container, BackupAuth::sas_token(sas), fast())
        .await
        .unwrap();
    other
        .resume_pre_backup(&pre.resume_token(), fast())
        .unwrap()
        .await
        .expect("pre-backup resumed");
}

#[tokio::test]
async fn version_gates_and_bad_tokens() {
    let env = start().await;
    let old = env.backup_with(ApiVersion::V7_5);
    let e = old
        .begin_pre_backup(
            "https://a.blob.core.windows.net/c",
            BackupAuth::ManagedIdentity,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("7.6-preview.2"), "{e}");
    let e = old
        .begin_pre_restore(
            "https://a.blob.core.windows.net/c/f",
            BackupAuth::ManagedIdentity,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let preview = env.backup_with(ApiVersion::Other("7.6-preview.2".into()));
    let e = preview
        .begin_pre_restore(
            "https://a.blob.core.windows.net/c",
            BackupAuth::ManagedIdentity,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("folder"),
        "a gate that passes reaches the URL check: {e}"
    );
    assert_eq!(
        env.credential
            .calls
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );

    let client = env.backup();
    for token in [
        "",
        "not json",
        r#"{"style":"async_operation","url":"https://elsewhere.example/backup/1/pending"}"#,
    ] {
        let e = client.resume_backup(token, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{token}: {e}");
    }
    let e = client
        .begin_restore(
            "https://a.blob.core.windows.net/only-container",
            BackupAuth::ManagedIdentity,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn a_job_that_starts_finished_is_not_polled() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::{
        Router,
        http::StatusCode,
        response::IntoResponse,
        routing::{get, post},
    };
    use keyvault_administration::{AdministrationClientOptions, RetryOptions};

    let polls = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let link = format!("{base}/backup/job1/pending");
    let counter = polls.clone();
    let app = Router::new()
        .route(
            "/backup",
            post(move || {
                let link = link.clone();
                async move {
                    let body = r#"{"status":"Succeeded","jobId":"job1","azureStorageBlobContainerUri":"https://a.blob.core.windows.net/c/mhsm-1"}"#;
                    (
                        StatusCode::ACCEPTED,
                        [("azure-asyncoperation", link), ("content-type", "application/json".into())],
                        body,
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/backup/job1/pending",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async {
                    let body = r#"{"status":"Succeeded","jobId":"job1","azureStorageBlobContainerUri":"https://a.blob.core.windows.net/c/mhsm-1"}"#;
                    ([("content-type", "application/json")], body).into_response()
                }
            }),
        )
        .fallback(|| async { StatusCode::NOT_FOUND });
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let options = AdministrationClientOptions {
        client_options: ClientOptions {
            allow_loopback_http: true,
            retry: RetryOptions {
                max_retries: 0,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let client = KeyVaultBackupClient::new(
        &base,
        Arc::new(crate::common::StaticToken::default()),
        Some(options),
    )
    .unwrap();
    let mut poller = client
        .begin_backup(
            "https://a.blob.core.windows.net/c",
            BackupAuth::ManagedIdentity,
            None,
        )
        .await
        .expect("starts");
    assert!(poller.is_done());
    assert_eq!(poller.status(), PollStatus::Succeeded);
    assert_eq!(poller.poll().await.unwrap(), PollStatus::Succeeded);
    // It still has a resume token, for the job's status URL.
    let token = poller.resume_token();
    let result = poller.await.expect("the start response's result");
    assert_eq!(
        result.folder_url,
        "https://a.blob.core.windows.net/c/mhsm-1"
    );
    assert_eq!(polls.load(Ordering::SeqCst), 0, "no status request");

    let resumed = client
        .resume_backup(&token, None)
        .expect("a token of this HSM")
        .await
        .expect("the job's status");
    assert_eq!(resumed.folder_url, result.folder_url);
    assert_eq!(polls.load(Ordering::SeqCst), 1, "the resumed poller polls");

    // A client of another HSM refuses the token before sending anything.
    let env = start().await;
    let e = env.backup().resume_backup(&token, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string()
            .contains(&format!("a job of {base}, not of https://")),
        "{e}"
    );
    server.abort();
}
