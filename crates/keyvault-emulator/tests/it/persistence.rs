//! Durable state: restarts in-process, and a crash (kill -9) of the binary.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyvault_emulator::Emulator;
use reqwest::Method;
use serde_json::json;

use crate::common::{Spawned, client_for, send_to, spawn_binary, start_with};

#[tokio::test]
async fn restart_with_data_dir_keeps_everything() {
    let data = tempfile::tempdir().unwrap();
    let env = start_with(Emulator::builder().data_dir(data.path())).await;
    env.set("keep", json!({"value": "one", "tags": {"t": "1"}}))
        .await;
    env.set("keep", json!({"value": "two"})).await;
    env.set("trash", json!({"value": "bin"})).await;
    env.delete("/secrets/trash").await;
    env.set("purged", json!({"value": "x"})).await;
    env.delete("/secrets/purged").await;
    env.delete("/deletedsecrets/purged").await;
    let blob = env
        .call(Method::POST, "/secrets/keep/backup", None)
        .await
        .json["value"]
        .as_str()
        .expect("a backup blob")
        .to_owned();
    env.emu.advance_clock(Duration::from_secs(3600)).await;
    let offset = env.emu.clock().offset();
    env.emu.shutdown().await;

    let env = start_with(Emulator::builder().data_dir(data.path())).await;
    assert_eq!(
        env.emu.clock().offset(),
        offset,
        "the virtual clock is kept"
    );
    assert_eq!(env.get("/secrets/keep").await.json["value"], "two");
    assert_eq!(env.list_all("/secrets/keep/versions").await.len(), 2);
    assert_eq!(env.get("/deletedsecrets/trash").await.status, 200);
    assert_eq!(env.get("/deletedsecrets/purged").await.status, 404);
    // The backup key is kept too: an old blob restores after a restart.
    env.delete("/secrets/keep").await;
    env.delete("/deletedsecrets/keep").await;
    let r = env.restore_secret(&blob).await;
    assert_eq!(r.status, 200, "{}", r.text);
    env.emu.shutdown().await;

    // Without a data dir nothing is kept.
    let env = start_with(Emulator::builder()).await;
    assert_eq!(env.get("/secrets/keep").await.status, 404);
    env.emu.shutdown().await;
}

fn spawn(data: &std::path::Path, tls: &std::path::Path) -> Spawned {
    spawn_binary(|c| {
        c.arg("--data-dir").arg(data).arg("--tls-dir").arg(tls);
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let data = tempfile::tempdir().unwrap();
    let tls = tempfile::tempdir().unwrap();
    let mut first = spawn(data.path(), tls.path());
    for key in ["vault_url", "hsm_url", "ca_cert", "version"] {
        assert!(first.info[key].is_string(), "{key} in {}", first.info);
    }
    let ca_path = first.info["ca_cert"].as_str().unwrap().to_owned();
    assert!(std::path::Path::new(&ca_path).is_absolute());
    let ca = std::fs::read_to_string(&ca_path).unwrap();
    let client = client_for(&ca);
    let base = first.info["vault_url"]
        .as_str()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();

    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut writers = Vec::new();
    for w in 0..6 {
        let (client, base, acked) = (client.clone(), base.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                if Instant::now() > deadline {
                    break;
                }
                let name = format!("w{w}-{i}");
                let value = format!("value-{w}-{i}");
                let url = format!("{base}/secrets/{name}?api-version=7.6");
                let r = send_to(
                    &client,
                    Method::PUT,
                    &url,
                    Some(json!({"value": value})),
                    Some("t"),
                )
                .await;
                assert_eq!(r.status, 200, "{}", r.text);
                acked.lock().unwrap().push((name, value));
            }
        }));
    }
    // Kill while the writers are still writing.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    first.child.kill().expect("SIGKILL");
    first.child.wait().unwrap();
    let mut cut_off = 0;
    for w in writers {
        // A writer fails at its first request after the kill.
        if w.await.is_err() {
            cut_off += 1;
        }
    }
    assert!(cut_off > 0, "the kill happened while writers were writing");
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 6,
        "some writes were acknowledged: {}",
        acked.len()
    );

    let mut second = spawn(data.path(), tls.path());
    assert_eq!(second.info["ca_cert"], first.info["ca_cert"]);
    let ca2 = std::fs::read_to_string(second.info["ca_cert"].as_str().unwrap()).unwrap();
    assert_eq!(ca, ca2, "the CA is generated once and reused");
    let base = second.info["vault_url"]
        .as_str()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    for (name, value) in &acked {
        let url = format!("{base}/secrets/{name}?api-version=7.6");
        let r = send_to(&client, Method::GET, &url, None, Some("t")).await;
        assert_eq!(r.status, 200, "acknowledged write {name} lost");
        assert_eq!(r.json["value"], value.as_str());
    }

    // SIGTERM stops it cleanly.
    #[cfg(unix)]
    {
        let status = Command::new("kill")
            .args(["-TERM", &second.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = second.child.try_wait().unwrap() {
                assert!(status.success(), "clean exit on SIGTERM: {status}");
                break;
            }
            assert!(Instant::now() < deadline, "did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    #[cfg(not(unix))]
    {
        let _ = second.child.kill();
    }
}
