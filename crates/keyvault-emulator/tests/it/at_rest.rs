//! The data directory under concurrent writers (group commit), and what it
//! holds at rest: no secret value and no key material in clear, in its files
//! or in backup blobs.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use keyvault_emulator::Emulator;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Env, send_to, start_with};

/// The role every assignment of these tests names (Managed HSM Crypto User).
const ROLE: &str = "21dbd100-6940-42c2-9190-5d6cb909625b";

/// 32 tasks writing at once (secrets of their own names and of one shared
/// name, keys, role assignments, a setting): every acknowledged write is
/// there after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_to_a_data_dir_are_all_kept() {
    let data = tempfile::tempdir().unwrap();
    let env = Arc::new(start_with(Emulator::builder().data_dir(data.path())).await);
    let mut tasks = Vec::new();
    for t in 0..32 {
        let env = env.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..4 {
                let (name, value) = (format!("t{t}-{i}"), format!("value {t} {i}"));
                env.set(&name, json!({ "value": value })).await;
                acked.push((name, value));
            }
            let shared = env
                .set("shared", json!({"value": format!("shared {t}")}))
                .await;
            let shared = version_of(&shared["id"]);
            let r = match t % 3 {
                0 => env.create_key(&format!("key-{t}"), "oct-HSM").await,
                1 => {
                    let name = format!("00000000-0000-4000-8000-{t:012}");
                    env.put_assignment("", &name, ROLE, &format!("p{t}")).await
                }
                _ => {
                    let value = if t % 2 == 0 { "true" } else { "false" };
                    let body = json!({ "value": value });
                    let path = "/settings/AllowKeyManagementOperationsThroughARM";
                    env.hsm_call(Method::PATCH, path, Some(body)).await
                }
            };
            assert!(r.status < 300, "{}", r.text);
            (acked, shared)
        }));
    }
    let mut acked = Vec::new();
    let mut shared_versions = Vec::new();
    for t in tasks {
        let (a, s) = t.await.unwrap();
        acked.extend(a);
        shared_versions.push(s);
    }
    let setting = env
        .hsm_get("/settings/AllowKeyManagementOperationsThroughARM")
        .await
        .json;
    let Ok(env) = Arc::try_unwrap(env) else {
        panic!("every task is done")
    };
    env.emu.shutdown().await;

    let env = start_with(Emulator::builder().data_dir(data.path())).await;
    for (name, value) in &acked {
        let r = env.get(&format!("/secrets/{name}")).await;
        assert_eq!(r.json["value"], value.as_str(), "{name}: {}", r.text);
    }
    let versions = env.list_all("/secrets/shared/versions").await;
    let mut ids: Vec<String> = versions.iter().map(|v| version_of(&v["id"])).collect();
    ids.sort_unstable();
    shared_versions.sort();
    assert_eq!(ids, shared_versions, "every version of the shared name");
    for t in (0..32).filter(|t| t % 3 == 0) {
        assert_eq!(env.hsm_get(&format!("/keys/key-{t}")).await.status, 200);
    }
    for t in (0..32).filter(|t| t % 3 == 1) {
        let name = format!("00000000-0000-4000-8000-{t:012}");
        let path = format!("/providers/Microsoft.Authorization/roleAssignments/{name}");
        assert_eq!(env.hsm_get(&path).await.status, 200, "{name}");
    }
    let path = "/settings/AllowKeyManagementOperationsThroughARM";
    assert_eq!(env.hsm_get(path).await.json, setting);
    env.emu.shutdown().await;
}

/// The version at the end of an id (the port changes with a restart).
fn version_of(id: &Value) -> String {
    let id = id.as_str().expect("an id");
    id.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Whether any file under `dir` holds `needle`.
fn files_hold(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let path = entry.unwrap().path();
        if path.is_dir() {
            return files_hold(&path, needle);
        }
        let raw = std::fs::read(&path).unwrap_or_default();
        raw.windows(needle.len()).any(|w| w == needle)
    })
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Secret values and an HSM key's material never sit in clear in the data
/// directory's files or in a secret's backup blob; after a restart they
/// read back intact.
#[tokio::test]
async fn values_and_key_material_are_sealed_at_rest() {
    let data = tempfile::tempdir().unwrap();
    let env = start_with(Emulator::builder().data_dir(data.path())).await;
    let values: Vec<String> = (0..3)
        .map(|i| format!("at-rest-value-{i}-{}", uuid_like(i)))
        .collect();
    for (i, v) in values.iter().enumerate() {
        env.set(&format!("s{i}"), json!({ "value": v })).await;
    }
    env.set("s0", json!({"value": values[0].clone() + "-v2"}))
        .await;
    assert_eq!(env.create_key("k", "oct-HSM").await.status, 200);
    let blob = env
        .call(Method::POST, "/secrets/s1/backup", None)
        .await
        .json["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let export = exported(&env).await;
    let material = export["hsms"]["emulator"]["keys"][0]["versions"][0]["privateKey"]
        .as_str()
        .expect("the key's material")
        .to_owned();
    let raw_material = base64::engine::general_purpose::STANDARD
        .decode(&material)
        .unwrap();
    env.emu.shutdown().await;

    let blob_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(blob.trim_end_matches('='))
        .unwrap();
    for v in &values {
        assert!(
            !files_hold(data.path(), v.as_bytes()),
            "{v} in clear on disk"
        );
        assert!(!holds(&blob_bytes, v.as_bytes()) && !blob.contains(v.as_str()));
    }
    assert!(
        !files_hold(data.path(), material.as_bytes()),
        "key material on disk"
    );
    assert!(
        !files_hold(data.path(), &raw_material),
        "raw key material on disk"
    );

    let env = start_with(Emulator::builder().data_dir(data.path())).await;
    assert_eq!(
        env.get("/secrets/s0").await.json["value"],
        values[0].clone() + "-v2"
    );
    for (i, v) in values.iter().enumerate().skip(1) {
        assert_eq!(
            env.get(&format!("/secrets/s{i}")).await.json["value"],
            v.as_str()
        );
    }
    let again = exported(&env).await;
    assert_eq!(
        again["hsms"]["emulator"]["keys"][0]["versions"][0]["privateKey"],
        material.as_str()
    );
    env.emu.shutdown().await;
}

/// A value no other test writes.
fn uuid_like(i: usize) -> String {
    format!(
        "{:016x}",
        0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(i as u64 + 1)
    )
}

async fn exported(env: &Env) -> Value {
    let url = format!("{}/_emulator/export", env.base);
    let r = send_to(&env.client, Method::GET, &url, None, Some("test")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}
