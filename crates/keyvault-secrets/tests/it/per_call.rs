//! Every method honours the per-call part of its options: with a call
//! timeout of zero, each one fails as a timeout instead of reaching the
//! emulator, which serves the same calls without it.

use std::time::Duration;

use futures::{FutureExt, TryStreamExt, future::BoxFuture};
use keyvault_secrets::{
    ErrorKind, GetSecretOptions, ListOptions, PollerOptions, RequestOptions, Result, SecretClient,
    SetSecretOptions, UpdateSecretPropertiesOptions,
};

use crate::common;

/// A boxed call of a method, reduced to whether it succeeded.
type Call = BoxFuture<'static, Result<()>>;

/// Each method of `client`, called with `call` as its per-call options.
fn every_method(client: &SecretClient, call: &RequestOptions) -> Vec<(&'static str, Call)> {
    let mut calls: Vec<(&'static str, Call)> = Vec::new();
    macro_rules! method {
        ($name:literal, |$c:ident, $o:ident| $body:expr) => {{
            let ($c, $o) = (client.clone(), call.clone());
            calls.push(($name, async move { $body.map(drop) }.boxed()));
        }};
    }
    method!("set_secret", |c, o| {
        let options = SetSecretOptions {
            request_options: o,
            ..Default::default()
        };
        c.set_secret("per-call", "v", Some(options)).await
    });
    method!("get_secret", |c, o| {
        let options = GetSecretOptions {
            request_options: o,
            ..Default::default()
        };
        c.get_secret("per-call", Some(options)).await
    });
    method!("update_secret_properties", |c, o| {
        let options = UpdateSecretPropertiesOptions {
            request_options: o,
            ..Default::default()
        };
        c.update_secret_properties("per-call", Some(options)).await
    });
    method!("list_properties_of_secrets", |c, o| {
        let options = ListOptions {
            request_options: o,
            ..Default::default()
        };
        c.list_properties_of_secrets(Some(options))
            .try_collect::<Vec<_>>()
            .await
    });
    method!("list_properties_of_secret_versions", |c, o| {
        let options = ListOptions {
            request_options: o,
            ..Default::default()
        };
        c.list_properties_of_secret_versions("per-call", Some(options))
            .try_collect::<Vec<_>>()
            .await
    });
    method!("backup_secret", |c, o| c
        .backup_secret("per-call", Some(o))
        .await);
    method!("begin_delete_secret", |c, o| {
        let options = PollerOptions {
            frequency: Some(Duration::from_millis(20)),
            request_options: o,
        };
        async {
            c.begin_delete_secret("per-call", Some(options))
                .await?
                .await
        }
        .await
    });
    method!("list_deleted_secrets", |c, o| {
        let options = ListOptions {
            request_options: o,
            ..Default::default()
        };
        c.list_deleted_secrets(Some(options))
            .try_collect::<Vec<_>>()
            .await
    });
    method!("get_deleted_secret", |c, o| c
        .get_deleted_secret("per-call", Some(o))
        .await);
    method!("purge_deleted_secret", |c, o| c
        .purge_deleted_secret("per-call", Some(o))
        .await);
    calls
}

#[tokio::test]
async fn every_method_honours_its_per_call_timeout() {
    let env = common::start().await;
    let expired = RequestOptions::default().timeout(Duration::ZERO);
    for (name, call) in every_method(&env.client, &expired) {
        let err = call.await.expect_err(name);
        assert_eq!(err.kind(), ErrorKind::Timeout, "{name}: {err}");
    }
    let none_left = env.client.restore_secret_backup(b"x", Some(expired)).await;
    assert_eq!(none_left.unwrap_err().kind(), ErrorKind::Timeout);

    // The same calls, in the same order, with room to run.
    let roomy = RequestOptions::default().timeout(Duration::from_secs(30));
    for (name, call) in every_method(&env.client, &roomy) {
        call.await.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
