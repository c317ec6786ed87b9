//! Full backup, full restore and selective key restore against Azurite:
//! with SAS tokens over http, and with the emulator's managed identity over
//! https (Azurite with `--oauth basic`, serving the emulator's certificate).

use std::path::Path;
use std::time::{Duration, Instant};

use keyvault_emulator::Emulator;
use reqwest::Method;
use serde_json::{Value, json};

use crate::azurite::Azurite;
use crate::common::{Env, ROLE_ASSIGNMENTS, ROLE_DEFINITIONS, Resp, send_to, start, start_with};
use crate::storage::{account_sas, create_container, get_blob, list_blobs};

const ROLE: &str = "3b0e2c1d-5a6f-4e7d-8c9b-0a1b2c3d4e5f";
const ASSIGNMENT: &str = "4c1f3d2e-6b7a-4f8e-9d0c-1b2c3d4e5f60";
const SETTING: &str = "/settings/AllowKeyManagementOperationsThroughARM";

/// Polls the `Azure-AsyncOperation` URL of a 202 answer, as given (no
/// api-version, like the Python SDK), until the job ends.
async fn wait(env: &Env, started: &Resp) -> Value {
    assert_eq!(started.status, 202, "{}", started.text);
    assert_eq!(started.json["status"], "InProgress");
    assert_eq!(started.headers["retry-after"], "1");
    let url = started.headers["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_owned();
    let id = started.json["jobId"].as_str().unwrap();
    assert!(
        url.starts_with(&env.hsm) && url.ends_with(&format!("/{id}/pending")),
        "{url}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = send_to(&env.client, Method::GET, &url, None, Some("t")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        if r.json["status"] != "InProgress" {
            assert!(r.json["endTime"].is_i64());
            assert_eq!(r.json["jobId"], id);
            return r.json;
        }
        assert!(Instant::now() < deadline, "job did not end: {}", r.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sas_params(container: &str, sas: &str) -> Value {
    json!({"storageResourceUri": container, "token": sas, "useManagedIdentity": false})
}

fn identity_params(container: &str) -> Value {
    json!({"storageResourceUri": container, "useManagedIdentity": true})
}

async fn restore(env: &Env, container: &str, sas: &str, folder: &str) -> Value {
    restore_with(env, sas_params(container, sas), folder).await
}

/// A full restore of `folder` with these `sasTokenParameters`, waited for.
async fn restore_with(env: &Env, params: Value, folder: &str) -> Value {
    let body = json!({"sasTokenParameters": params, "folderToRestore": folder});
    let r = env.hsm_call(Method::PUT, "/restore", Some(body)).await;
    wait(env, &r).await
}

async fn backup(env: &Env, container: &str, sas: &str) -> Value {
    backup_with(env, sas_params(container, sas)).await
}

/// A full backup with these parameters, waited for.
async fn backup_with(env: &Env, params: Value) -> Value {
    let r = env.hsm_call(Method::POST, "/backup", Some(params)).await;
    assert!(r.json["azureStorageBlobContainerUri"].is_null());
    wait(env, &r).await
}

/// The folder of the succeeded backup `done` in `container`, after checking
/// that it holds a blob for each of the keys `k1` and `k2`, the roles, the
/// settings and the manifest.
async fn backed_up_folder(env: &Env, az: &Azurite, container: &str, done: &Value) -> String {
    assert_eq!(done["status"], "Succeeded", "{done}");
    let folder_url = done["azureStorageBlobContainerUri"].as_str().unwrap();
    let folder = folder_url
        .strip_prefix(&format!("{}/", az.container_url(container)))
        .expect("folder in the container")
        .to_owned();
    let sas = account_sas("rl");
    let mut blobs = list_blobs(&env.client, az, container, &format!("{folder}/"), &sas).await;
    blobs.sort();
    let expected: Vec<String> = ["keys/k1", "keys/k2", "manifest.json", "rbac", "settings"]
        .iter()
        .map(|b| format!("{folder}/{b}"))
        .collect();
    assert_eq!(blobs, expected);
    folder
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restores_through_azurite() {
    let az = Azurite::start();
    let env = start().await;
    let sas = account_sas("rwdlac");
    create_container(&env.client, &az, "backups", &sas).await;
    let container = az.container_url("backups");

    // State to back up: two keys, a custom role and its assignment, a setting.
    let r = env.create_key("k1", "EC-HSM").await;
    let k1 = r.json["key"].clone();
    env.create_key("k1", "EC-HSM").await;
    env.create_key("k2", "oct-HSM").await;
    let r = env
        .hsm_call(
            Method::PUT,
            &format!("{ROLE_DEFINITIONS}/{ROLE}"),
            Some(json!({"properties": {"roleName": "r", "permissions": [{"dataActions": ["Microsoft.KeyVault/managedHsm/keys/read/action"]}]}})),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = env.put_assignment("", ASSIGNMENT, ROLE, "p").await;
    assert_eq!(r.status, 201);
    env.hsm_call(Method::PATCH, SETTING, Some(json!({"value": "true"})))
        .await;

    // Full backup.
    let done = backup(&env, &container, &sas).await;
    assert!(done["error"].is_null() && done["statusDetails"].is_null());
    let folder = backed_up_folder(&env, &az, "backups", &done).await;
    assert!(folder.starts_with("mhsm-localhost-"), "{folder}");
    let sealed = get_blob(
        &env.client,
        &az,
        "backups",
        &format!("{folder}/keys/k1"),
        &sas,
    )
    .await;
    assert!(
        !String::from_utf8_lossy(&sealed).contains("EC-HSM"),
        "blobs are encrypted"
    );

    // Selective restore after the key was purged.
    env.hsm_delete("/keys/k1").await;
    let r = env.hsm_delete("/deletedkeys/k1").await;
    assert_eq!(r.status, 204);
    let r = env
        .hsm_call(
            Method::PUT,
            "/keys/k1/restore",
            Some(json!({"sasTokenParameters": sas_params(&container, &sas), "folder": folder})),
        )
        .await;
    assert!(r.json.get("azureStorageBlobContainerUri").is_none());
    let done = wait(&env, &r).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!(
        done["statusDetails"],
        "Number of successful key versions restored: 2, Number of key versions could not overwrite: 0"
    );
    let r = env
        .hsm_call(
            Method::GET,
            &format!(
                "/keys/k1/{}",
                k1["kid"].as_str().unwrap().rsplit('/').next().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["key"], k1, "the same key material comes back");
    // Again: nothing to overwrite.
    let r = env
        .hsm_call(
            Method::PUT,
            "/keys/k1/restore",
            Some(json!({"sasTokenParameters": sas_params(&container, &sas), "folder": folder})),
        )
        .await;
    let done = wait(&env, &r).await;
    assert_eq!(
        done["statusDetails"],
        "Number of successful key versions restored: 0, Number of key versions could not overwrite: 2"
    );
    // A key the backup does not have.
    let r = env
        .hsm_call(
            Method::PUT,
            "/keys/nope/restore",
            Some(json!({"sasTokenParameters": sas_params(&container, &sas), "folder": folder})),
        )
        .await;
    let done = wait(&env, &r).await;
    assert_eq!(done["status"], "Failed");
    assert_eq!(done["error"]["code"], "KeyNotFound");

    // Change everything, then a full restore brings the backup back.
    env.hsm_delete("/keys/k2").await;
    env.hsm_delete("/deletedkeys/k2").await;
    env.create_key("k3", "oct").await;
    env.hsm_delete(&format!("{ROLE_ASSIGNMENTS}/{ASSIGNMENT}"))
        .await;
    env.hsm_call(Method::PATCH, SETTING, Some(json!({"value": "false"})))
        .await;
    let done = restore(&env, &container, &sas, &folder).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!(env.hsm_get("/keys/k2").await.status, 200);
    assert_eq!(env.hsm_get("/keys/k3").await.status, 404);
    let r = env
        .hsm_get(&format!("{ROLE_ASSIGNMENTS}/{ASSIGNMENT}"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(env.hsm_get(SETTING).await.json["value"], "true");

    // A missing folder fails the job and changes nothing.
    env.create_key("k4", "oct").await;
    let done = restore(&env, &container, &sas, "mhsm-nothing-2020010100000000").await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(done["error"]["code"], "BackupNotFound");
    assert_eq!(env.hsm_get("/keys/k4").await.status, 200);
    assert_eq!(env.hsm_get("/keys/k2").await.status, 200);

    // A corrupt folder (a blob replaced by garbage) fails and changes nothing.
    let put = format!("{container}/{folder}/rbac?{sas}");
    let r = env
        .client
        .put(&put)
        .header("x-ms-version", "2021-08-06")
        .header("x-ms-blob-type", "BlockBlob")
        .body("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let done = restore(&env, &container, &sas, &folder).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(done["error"]["code"], "InvalidBackup");
    assert_eq!(env.hsm_get("/keys/k4").await.status, 200);

    // Pre-backup and pre-restore checks (7.6-preview.2 and later).
    let r = env
        .hsm_call(
            Method::POST,
            "/prebackup?api-version=7.6",
            Some(sas_params(&container, &sas)),
        )
        .await;
    assert!(
        r.headers["azure-asyncoperation"]
            .to_str()
            .unwrap()
            .contains("/backup/")
    );
    let done = wait(&env, &r).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert!(done["azureStorageBlobContainerUri"].is_null());
    let r = env
        .hsm_call(
            Method::PUT,
            "/prerestore?api-version=2025-07-01",
            Some(json!({"sasTokenParameters": sas_params(&container, &sas), "folderToRestore": "mhsm-missing"})),
        )
        .await;
    assert!(
        r.headers["azure-asyncoperation"]
            .to_str()
            .unwrap()
            .contains("/restore/")
    );
    let done = wait(&env, &r).await;
    assert_eq!(done["status"], "Failed", "{done}");

    // The status route also answers with an api-version (resumed pollers).
    let id = done["jobId"].as_str().unwrap();
    let r = env.hsm_get(&format!("/restore/{id}/pending")).await;
    assert_eq!(r.json["status"], "Failed");
    let r = env.hsm_get(&format!("/backup/{id}/pending")).await;
    assert_eq!(r.status, 404, "a restore job is not a backup job");
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_failures_fail_the_job() {
    let az = Azurite::start();
    let env = start().await;
    let sas = account_sas("rwdlac");
    create_container(&env.client, &az, "okay", &sas).await;

    // A SAS with a bad signature.
    let bad = sas.replace("sig=", "sig=AAAA");
    let done = backup(&env, &az.container_url("okay"), &bad).await;
    assert_eq!(done["status"], "Failed", "{done}");
    // Azurite says AuthorizationFailure where Azure says AuthenticationFailed.
    let code = done["error"]["code"].as_str().unwrap();
    assert!(
        ["AuthenticationFailed", "AuthorizationFailure"].contains(&code),
        "{done}"
    );
    assert!(
        !done["error"]["message"].as_str().unwrap().contains("sig="),
        "the SAS is not echoed"
    );
    assert!(done["azureStorageBlobContainerUri"].is_null());

    // A read-only SAS cannot write.
    let done = backup(&env, &az.container_url("okay"), &account_sas("rl")).await;
    assert_eq!(done["status"], "Failed", "{done}");

    // A container that does not exist.
    let done = backup(&env, &az.container_url("missing"), &sas).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(done["error"]["code"], "ContainerNotFound", "{done}");

    // Managed identity over http: the token is not sent in clear text, so
    // the requests carry no credentials and storage refuses them.
    let done = backup_with(&env, identity_params(&az.container_url("okay"))).await;
    assert_eq!(done["status"], "Failed", "{done}");
    let message = done["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("no credentials") && message.contains("only over https"),
        "{done}"
    );

    // Nothing listening.
    let done = backup(&env, "http://127.0.0.1:9/nothing", &sas).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(done["error"]["code"], "StorageRequestFailed", "{done}");
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_state_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let az = Azurite::start();
    let env = start_with(Emulator::builder().data_dir(data.path())).await;
    let sas = account_sas("rwdlac");
    create_container(&env.client, &az, "bkp", &sas).await;
    let done = backup(&env, &az.container_url("bkp"), &sas).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    let id = done["jobId"].as_str().unwrap().to_owned();
    // HSM state written before the restart.
    let key = env.create_key("kept", "EC").await.json["key"].clone();
    let r = env
        .hsm_call(
            Method::PUT,
            &format!("{ROLE_DEFINITIONS}/{ROLE}"),
            Some(json!({"properties": {"roleName": "kept", "permissions": []}})),
        )
        .await;
    assert_eq!(r.status, 201);
    env.hsm_call(Method::PATCH, SETTING, Some(json!({"value": "true"})))
        .await;

    // A job that never ends: storage accepts the connection and says nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let r = env
        .hsm_call(
            Method::POST,
            "/backup",
            Some(sas_params(&format!("http://127.0.0.1:{port}/c"), &sas)),
        )
        .await;
    assert_eq!(r.status, 202);
    let stuck = r.json["jobId"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    env.emu.shutdown().await;
    drop(silent);

    let env = start_with(Emulator::builder().data_dir(data.path())).await;
    let r = env.hsm_get(&format!("/backup/{id}/pending")).await;
    assert_eq!(r.json, done, "a finished job is kept as it was");
    let r = env.hsm_get(&format!("/backup/{stuck}/pending")).await;
    assert_eq!(r.json["status"], "Failed", "{}", r.text);
    assert_eq!(r.json["error"]["code"], "JobInterrupted");
    let r = env.hsm_get("/keys/kept").await;
    assert_eq!(r.json["key"]["x"], key["x"], "the same key (on a new port)");
    let r = env.hsm_get(&format!("{ROLE_DEFINITIONS}/{ROLE}")).await;
    assert_eq!(r.json["properties"]["roleName"], "kept");
    assert_eq!(env.hsm_get(SETTING).await.json["value"], "true");
    env.emu.shutdown().await;
}

/// An emulator whose certificates are kept in `dir`, and an Azurite over
/// https with `--oauth basic` that serves the emulator's server certificate
/// (issued by the CA the emulator trusts), with a `container` created with
/// the SAS `rwdlac`; and that container's URL.
async fn with_oauth_azurite(dir: &Path, container: &str) -> (Env, Azurite, String) {
    let env = start_with(Emulator::builder().tls_dir(dir)).await;
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("TLS file");
    let az = Azurite::start_https(&read("server.pem"), &read("server-key.pem"));
    let url = az.container_url(container);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    create_container(&env.client, &az, container, &account_sas("rwdlac")).await;
    (env, az, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_backs_up_and_restores_through_azurite_over_oauth() {
    let tls = tempfile::tempdir().unwrap();
    let (env, az, container) = with_oauth_azurite(tls.path(), "mi-backups").await;
    // The container is private: a request without credentials is refused.
    let r = env
        .client
        .get(format!("{container}?restype=container&comp=list"))
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());

    let k1 = env.create_key("k1", "EC-HSM").await.json["key"].clone();
    env.create_key("k2", "oct-HSM").await;
    env.hsm_call(Method::PATCH, SETTING, Some(json!({"value": "true"})))
        .await;

    let r = env
        .hsm_call(
            Method::POST,
            "/prebackup?api-version=7.6",
            Some(identity_params(&container)),
        )
        .await;
    let done = wait(&env, &r).await;
    assert_eq!(done["status"], "Succeeded", "{done}");

    let done = backup_with(&env, identity_params(&container)).await;
    let folder = backed_up_folder(&env, &az, "mi-backups", &done).await;

    // A full restore brings back what changed since.
    env.hsm_delete("/keys/k2").await;
    env.hsm_delete("/deletedkeys/k2").await;
    env.hsm_call(Method::PATCH, SETTING, Some(json!({"value": "false"})))
        .await;
    let done = restore_with(&env, identity_params(&container), &folder).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!(env.hsm_get("/keys/k2").await.status, 200);
    assert_eq!(env.hsm_get(SETTING).await.json["value"], "true");

    // A selective restore brings back a purged key (its token is cached).
    env.hsm_delete("/keys/k1").await;
    assert_eq!(env.hsm_delete("/deletedkeys/k1").await.status, 204);
    let body = json!({"sasTokenParameters": identity_params(&container), "folder": folder});
    let r = env
        .hsm_call(Method::PUT, "/keys/k1/restore", Some(body))
        .await;
    let done = wait(&env, &r).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    let r = env.hsm_get("/keys/k1").await;
    assert_eq!(r.json["key"]["x"], k1["x"], "the same key material");
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_refused_by_storage_fails_the_job() {
    let tls = tempfile::tempdir().unwrap();
    let (env, az, exists) = with_oauth_azurite(tls.path(), "exists").await;

    // A container that does not exist: the token is accepted, the
    // container is not there.
    let missing = az.container_url("missing");
    let done = backup_with(&env, identity_params(&missing)).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(done["error"]["code"], "ContainerNotFound", "{done}");
    assert!(done["azureStorageBlobContainerUri"].is_null());
    let message = done["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Azure Storage answered 404"), "{done}");
    assert!(!message.contains("eyJ"), "the token is never shown: {done}");

    // A restore from storage that refuses fails and changes nothing.
    env.create_key("kept", "oct").await;
    let folder = "mhsm-x-2020010100000000";
    let done = restore_with(&env, identity_params(&missing), folder).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(env.hsm_get("/keys/kept").await.status, 200);

    // An emulator whose CA did not issue Azurite's certificate cannot
    // reach it.
    let stranger = start().await;
    let done = backup_with(&stranger, identity_params(&exists)).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(done["error"]["code"], "StorageRequestFailed", "{done}");
    stranger.emu.shutdown().await;
    env.emu.shutdown().await;
}
