//! Both long-running-operation styles.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use keyvault_core::{
    Context, ErrorKind,
    http::{Method, Request, Response, StatusCode},
    poller::{PollStatus, Poller},
};
use serde::{Deserialize, de::IgnoredAny};

use crate::server::{self, Reply, Server, TestCredential};

#[derive(Deserialize, Debug)]
struct Deleted {
    #[serde(rename = "recoveryId")]
    recovery_id: String,
}

#[tokio::test]
async fn until_found_polls_past_404s() {
    let srv = Server::http(|_, n| {
        if n < 2 {
            Reply::json(
                404,
                r#"{"error":{"code":"DeletedSecretNotFound","message":"not yet"}}"#,
            )
        } else {
            Reply::json(200, r#"{"recoveryId":"https://v/deletedsecrets/s"}"#)
        }
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let mut poller = Poller::<Deleted>::until_found(
        p,
        Context::new("GetDeletedSecret"),
        srv.url("/deletedsecrets/s"),
    )
    .with_frequency(Duration::from_millis(5));
    assert_eq!(poller.poll().await.unwrap(), PollStatus::InProgress);
    assert_eq!(poller.status(), PollStatus::InProgress);
    let deleted = poller.await.unwrap();
    assert_eq!(deleted.recovery_id, "https://v/deletedsecrets/s");
    assert_eq!(srv.seen().len(), 3);
}

/// A server whose first answer is a 404 and every later one the deleted
/// secret, and a pipeline to it.
async fn found_after_one_404() -> (Server, keyvault_core::Pipeline) {
    let srv = Server::http(|_, n| {
        if n < 1 {
            Reply::empty(404)
        } else {
            Reply::json(200, r#"{"recoveryId":"r"}"#)
        }
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    (srv, server::pipeline(&cred, server::options()))
}

#[tokio::test]
async fn until_found_resumes_from_a_token() {
    let (srv, p) = found_after_one_404().await;
    let first = Poller::<Deleted>::until_found(
        p.clone(),
        Context::new("GetDeletedSecret"),
        srv.url("/deletedsecrets/s"),
    );
    let token = first.resume_token();
    drop(first);
    let origin = srv.url("/");
    let resumed =
        Poller::<Deleted>::resume(p.clone(), Context::new("GetDeletedSecret"), &token, &origin)
            .unwrap()
            .with_frequency(Duration::from_millis(5));
    assert_eq!(resumed.await.unwrap().recovery_id, "r");
    assert!(srv.seen().iter().all(|s| s.path == "/deletedsecrets/s"));
    let err = Poller::<Deleted>::resume(p, Context::new("x"), "garbage", &origin).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[derive(Deserialize, Debug)]
struct BackupStatus {
    status: String,
    #[serde(rename = "azureStorageBlobContainerUri")]
    container: Option<String>,
}

#[tokio::test]
async fn async_operation_polls_until_succeeded() {
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = polls.clone();
    let srv = Server::http(move |seen, _| {
        let base = seen.base("http");
        match (seen.method.as_str(), seen.path.as_str()) {
            ("POST", "/backup") => Reply::json(202, r#"{"status":"InProgress","jobId":"j1"}"#)
                .header("azure-asyncoperation", format!("{base}/backup/j1/pending"))
                .header("retry-after", "0"),
            ("GET", "/backup/j1/pending") => {
                if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 1 {
                    Reply::json(200, r#"{"status":"InProgress"}"#).header("retry-after", "0")
                } else {
                    Reply::json(
                        200,
                        r#"{"status":"Succeeded","azureStorageBlobContainerUri":"https://acct.blob/c/mhsm-backup"}"#,
                    )
                }
            }
            _ => Reply::empty(500),
        }
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let mut start = Request::new(Method::POST, srv.url("/backup"));
    start.set_body(r#"{"token":"sas"}"#);
    let initial = p.send(&Context::new("FullBackup"), start).await.unwrap();
    assert_eq!(initial.status(), 202);
    let mut poller =
        Poller::<BackupStatus>::from_async_operation(p, Context::new("FullBackupStatus"), &initial)
            .unwrap()
            // Only honouring `Retry-After: 0` keeps this test fast.
            .with_frequency(Duration::from_secs(600));
    let statuses: Vec<PollStatus> = tokio::time::timeout(
        Duration::from_secs(20),
        poller.status_stream().map(|r| r.unwrap()).collect(),
    )
    .await
    .expect("Retry-After is honoured");
    assert_eq!(statuses, [PollStatus::InProgress, PollStatus::Succeeded]);
    let done = poller.await.unwrap();
    assert_eq!(done.status, "Succeeded");
    assert_eq!(
        done.container.as_deref(),
        Some("https://acct.blob/c/mhsm-backup")
    );
    assert_eq!(polls.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// A pipeline to `srv`, and its answer to a bodiless POST to `path` (the
/// request that starts a job).
async fn start_job(srv: &Server, path: &str) -> (keyvault_core::Pipeline, Response) {
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let start = Request::new(Method::POST, srv.url(path));
    let initial = p.send(&Context::new("Start"), start).await.unwrap();
    (p, initial)
}

/// A server that starts a job on any POST or PUT (a 202 naming its status
/// URL) and answers every status request `code` with `status_body`.
async fn job_server(code: u16, status_body: &'static str) -> Server {
    Server::http(move |seen, _| {
        if seen.method == "GET" {
            Reply::json(code, status_body)
        } else {
            Reply::json(202, r#"{"status":"InProgress"}"#).header(
                "azure-asyncoperation",
                format!("{}/jobs/j", seen.base("http")),
            )
        }
    })
    .await
}

#[tokio::test]
async fn async_operation_failure_is_an_error_with_the_service_code() {
    let srv = Server::http(|seen, _| {
        let base = seen.base("http");
        if seen.method == "PUT" {
            Reply::json(202, r#"{"status":"InProgress"}"#)
                .header("azure-asyncoperation", format!("{base}/restore/j2/pending"))
        } else {
            Reply::json(
                200,
                r#"{"status":"Failed","error":{"code":"InvalidSasToken","message":"The SAS token has expired."}}"#,
            )
        }
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let mut start = Request::new(Method::PUT, srv.url("/restore"));
    start.set_body("{}");
    let initial = p
        .send(&Context::new("FullRestoreOperation"), start)
        .await
        .unwrap();
    let err =
        Poller::<BackupStatus>::from_async_operation(p, Context::new("RestoreStatus"), &initial)
            .unwrap()
            .with_frequency(Duration::from_millis(5))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OperationFailed);
    assert_eq!(err.error_code(), Some("InvalidSasToken"));
    assert!(
        err.to_string().contains("The SAS token has expired."),
        "{err}"
    );
}

#[tokio::test]
async fn done_on_status_ends_the_poll_on_that_answer() {
    // 404 (not yet), then 403 (the caller may not read the result).
    let srv = Server::http(|_, n| {
        if n < 1 {
            Reply::empty(404)
        } else {
            Reply::json(
                403,
                r#"{"error":{"code":"Forbidden","message":"no get permission on deleted secrets"}}"#,
            )
        }
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let mut poller = Poller::<IgnoredAny>::until_found(
        p.clone(),
        Context::new("GetDeletedSecret"),
        srv.url("/deletedsecrets/s"),
    )
    .done_on_status(StatusCode::FORBIDDEN)
    .with_frequency(Duration::from_millis(5));
    assert_eq!(poller.frequency(), Duration::from_millis(5));
    assert!(!poller.is_done());
    assert_eq!(poller.poll().await.unwrap(), PollStatus::InProgress);
    assert_eq!(poller.poll().await.unwrap(), PollStatus::Succeeded);
    assert!(poller.is_done());
    // Done: nothing more is sent.
    assert_eq!(poller.poll().await.unwrap(), PollStatus::Succeeded);
    poller.await.unwrap();
    assert_eq!(srv.seen().len(), 2);

    // Without the hook, the same 403 is an error.
    let err = Poller::<IgnoredAny>::until_found(
        p,
        Context::new("GetDeletedSecret"),
        srv.url("/deletedsecrets/s"),
    )
    .with_frequency(Duration::from_millis(5))
    .await
    .unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    assert_eq!(srv.seen().len(), 3);
}

#[tokio::test]
async fn done_on_status_applies_to_async_operations_too() {
    let srv = job_server(
        403,
        r#"{"error":{"code":"ForbiddenByRbac","message":"no read permission on jobs"}}"#,
    )
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let mut start = Request::new(Method::POST, srv.url("/start"));
    start.set_body("{}");
    let initial = p.send(&Context::new("Start"), start).await.unwrap();
    let mut poller =
        Poller::<IgnoredAny>::from_async_operation(p.clone(), Context::new("Job"), &initial)
            .unwrap()
            .done_on_status(StatusCode::FORBIDDEN);
    assert_eq!(poller.poll().await.unwrap(), PollStatus::Succeeded);
    poller.await.unwrap();
    let gets = || srv.seen().iter().filter(|s| s.method == "GET").count();
    assert_eq!(gets(), 1);
    // Without the hook, the 403 is an error.
    let mut plain =
        Poller::<IgnoredAny>::from_async_operation(p, Context::new("Job"), &initial).unwrap();
    assert!(plain.poll().await.unwrap_err().is_forbidden());
    assert_eq!(plain.status(), PollStatus::InProgress);
    assert_eq!(gets(), 2);
}

#[tokio::test]
async fn a_finished_poller_sends_nothing_and_gives_its_value() {
    let mut poller = Poller::<Deleted>::finished(Deleted {
        recovery_id: "r-now".into(),
    });
    assert!(poller.is_done());
    assert_eq!(poller.status(), PollStatus::Succeeded);
    assert_eq!(poller.poll().await.unwrap(), PollStatus::Succeeded);
    let statuses: Vec<_> = poller.status_stream().collect().await;
    assert_eq!(
        statuses.len(),
        1,
        "a finished poller reports its status once"
    );
    assert_eq!(statuses[0].as_ref().unwrap(), &PollStatus::Succeeded);
    assert!(poller.resume_token().is_empty());
    assert!(format!("{poller:?}").contains("Succeeded"));
    assert_eq!(poller.await.unwrap().recovery_id, "r-now");
}

#[tokio::test]
async fn a_resume_token_polls_its_status_url_on_its_own_vault_only() {
    let srv = Server::http(|seen, _| {
        let base = seen.base("http");
        match (seen.method.as_str(), seen.path.as_str()) {
            ("POST", "/backup") => Reply::json(202, r#"{"status":"InProgress"}"#)
                .header("azure-asyncoperation", format!("{base}/backup/j7/pending")),
            ("GET", "/backup/j7/pending") => Reply::json(200, r#"{"status":"Succeeded"}"#),
            _ => Reply::empty(500),
        }
    })
    .await;
    let (p, initial) = start_job(&srv, "/backup").await;
    let poller =
        Poller::<IgnoredAny>::from_async_operation(p.clone(), Context::new("S"), &initial).unwrap();
    let token = poller.resume_token();
    drop(poller);

    // A token is refused by a client of another vault or HSM.
    let here = srv.url("/");
    let elsewhere = url::Url::parse("https://elsewhere.example/").unwrap();
    let e =
        Poller::<IgnoredAny>::resume(p.clone(), Context::new("S"), &token, &elsewhere).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string().contains("not of https://elsewhere.example"),
        "{e}"
    );

    // Resuming polls that URL, and nothing else.
    Poller::<IgnoredAny>::resume(p.clone(), Context::new("S"), &token, &here)
        .unwrap()
        .await
        .unwrap();
    let seen = srv.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[1].method.as_str(), seen[1].path.as_str()),
        ("GET", "/backup/j7/pending")
    );

    for bad in [
        "",
        "garbage",
        r#"{"style":"async_operation"}"#,
        r#"{"style":"async_operation","url":"not a url"}"#,
        Poller::finished(IgnoredAny).resume_token().as_str(),
    ] {
        let e = Poller::<IgnoredAny>::resume(p.clone(), Context::new("S"), bad, &here).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
    }
}

#[tokio::test]
async fn wait_for_ends_in_a_timeout_and_the_token_resumes() {
    // Never found: the operation does not finish within the bound.
    let srv = Server::http(|_, _| Reply::empty(404)).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let poller = Poller::<IgnoredAny>::until_found(
        p.clone(),
        Context::new("GetDeletedSecret"),
        srv.url("/deletedsecrets/s"),
    )
    .with_frequency(Duration::from_millis(20));
    let token = poller.resume_token();
    let started = std::time::Instant::now();
    let err = poller
        .wait_for(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_timeout());
    assert!(err.to_string().contains("GetDeletedSecret"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let polls = srv.seen().len();
    assert!(polls >= 2, "{polls}");

    // The bound applies to the status stream too, and a delay longer than
    // what is left ends it at once rather than sleeping past the bound.
    let mut slow = Poller::<IgnoredAny>::resume(p, Context::new("S"), &token, &srv.url("/"))
        .unwrap()
        .with_frequency(Duration::from_secs(600))
        .with_max_wait(Duration::from_secs(1));
    let statuses: Vec<_> =
        tokio::time::timeout(Duration::from_secs(10), slow.status_stream().collect())
            .await
            .expect("the bound ends the stream");
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert_eq!(statuses[0].as_ref().unwrap(), &PollStatus::InProgress);
    assert_eq!(statuses[1].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn a_status_without_status_is_a_clear_error() {
    let srv = job_server(200, r#"{"jobId":"j9"}"#).await;
    let (p, initial) = start_job(&srv, "/start").await;
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        Poller::<IgnoredAny>::from_async_operation(p, Context::new("JobStatus"), &initial)
            .unwrap()
            .with_frequency(Duration::from_millis(5)),
    )
    .await
    .expect("the poll does not go on forever")
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Deserialize, "{err}");
    assert!(err.to_string().contains("JobStatus"), "{err}");
    assert!(err.to_string().contains("`status`"), "{err}");
    assert_eq!(srv.seen().len(), 2, "one status request");
}

#[tokio::test]
async fn a_known_result_and_a_map_give_the_final_value() {
    let (srv, p) = found_after_one_404().await;
    let url = srv.url("/deletedsecrets/s");
    let known = Poller::<IgnoredAny>::until_found(p.clone(), Context::new("G"), url.clone())
        .with_frequency(Duration::from_millis(5))
        .with_result("from the start response");
    assert_eq!(known.result(), Some(&"from the start response"));
    assert_eq!(known.await.unwrap(), "from the start response");

    let decoded =
        Poller::<Deleted>::until_found(p, Context::new("G"), url).map(|d| Ok(d.recovery_id.len()));
    assert_eq!(decoded.result(), None);
    assert_eq!(decoded.await.unwrap(), 1);
}

#[tokio::test]
async fn a_job_that_starts_succeeded_is_not_polled_but_keeps_its_token() {
    let srv = Server::http(|seen, _| {
        let base = seen.base("http");
        Reply::json(202, r#"{"status":"Succeeded","jobId":"j1"}"#)
            .header("azure-asyncoperation", format!("{base}/jobs/j1"))
    })
    .await;
    let (p, initial) = start_job(&srv, "/start").await;
    let poller =
        Poller::<BackupStatus>::from_async_operation(p, Context::new("S"), &initial).unwrap();
    assert!(poller.is_done());
    assert!(poller.resume_token().contains("/jobs/j1"));
    assert_eq!(poller.await.unwrap().status, "Succeeded");
    assert_eq!(srv.seen().len(), 1);
}
