//! No secret value, token or backup blob reaches a log line (the client's
//! and the in-process emulator's, at TRACE), the `Debug` output of any
//! client, model, option, poller, pager or error, or an error message,
//! through a whole scenario: set, get, update, list, backup and restore,
//! delete and recover, the cache, a request written by hand, and errors.

use futures::TryStreamExt;
use keyvault_emulator::{AuthMode, Emulator};
use keyvault_secrets::{
    ApiVersion, ClientOptions, HeaderValue, ListOptions, Method, ProxyOptions, RequestOptions,
    SecretCache, SecretClientOptions, SendRequestOptions, SetSecretOptions,
};
use keyvault_testing::logs::capturing_runtime;

use crate::common::{StaticToken, client_for, fast};

const VALUE: &str = "Value-Of-The-Secret-5c1f9e";
const OID: &str = "0b1e0000-0000-4000-8000-00000000c0de";

#[test]
fn a_whole_scenario_leaks_no_value_token_or_blob() {
    let (runtime, captured, _guard) = capturing_runtime();
    let credential = StaticToken::jwt(OID);
    let token = credential.token();
    let mut shown: Vec<(String, String)> = Vec::new();
    let mut show = |what: &str, text: String| shown.push((what.to_owned(), text));
    let (blob, identity_header) = runtime.block_on(async {
        let emu =
            keyvault_testing::emulator::start_with(Emulator::builder().auth(AuthMode::Jwt)).await;
        let c = client_for(&emu, credential.clone(), ApiVersion::default());
        c.set_secret("warm-up", "w", None).await.unwrap();
        tracing::callsite::rebuild_interest_cache();

        let options = SetSecretOptions {
            content_type: Some("text/plain".into()),
            ..Default::default()
        };
        let set = c
            .set_secret("leak", VALUE, Some(options.clone()))
            .await
            .unwrap();
        let got = c.get_secret("leak", None).await.unwrap();
        assert_eq!(got.value.expose_secret(), VALUE);
        let props = c.update_secret_properties("leak", None).await.unwrap();
        let mut pager = c.list_properties_of_secrets(Some(ListOptions {
            max_page_size: Some(1),
            ..Default::default()
        }));
        let listed = pager.try_next().await.unwrap();
        let versions: Vec<_> = c
            .list_properties_of_secret_versions("leak", None)
            .try_collect()
            .await
            .unwrap();
        let blob = c.backup_secret("leak", None).await.unwrap();
        let poller = c.begin_delete_secret("leak", fast()).await.unwrap();
        show("delete poller", format!("{poller:?}"));
        let deleted = poller.await.unwrap();
        let in_bin: Vec<_> = c.list_deleted_secrets(None).try_collect().await.unwrap();
        c.purge_deleted_secret("leak", None).await.unwrap();
        let restored = c.restore_secret_backup(&blob, None).await.unwrap();
        let cache = SecretCache::new(c.clone(), None);
        let cached = cache.get("leak").await.unwrap();
        // A request by hand, its body holding the value, with a token in a
        // per-call header.
        let by_hand = SendRequestOptions {
            body: Some(format!(r#"{{"value":"{VALUE}"}}"#).into_bytes()),
            ..Default::default()
        };
        show("send_request options", format!("{by_hand:?}"));
        let raw = c
            .send_request(Method::PUT, "secrets/by-hand", Some(by_hand))
            .await
            .unwrap();
        assert_eq!(raw.status(), 200);
        let per_call = RequestOptions::default().header(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        show("request options", format!("{per_call:?}"));
        // Errors: a bad name, a value of the wrong type by hand, a missing
        // secret, a token the emulator refuses.
        let errors = [
            c.set_secret("bad_name", VALUE, None).await.unwrap_err(),
            c.get_secret("missing", None).await.unwrap_err(),
            c.restore_secret_backup(&blob[..blob.len() / 2], None)
                .await
                .unwrap_err(),
        ];
        let bad = c
            .send_request(
                Method::PUT,
                "secrets/typed",
                Some(SendRequestOptions {
                    body: Some(format!(r#"{{"value":{{"v":"{VALUE}"}}}}"#).into_bytes()),
                    ..Default::default()
                }),
            )
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        let options = SecretClientOptions {
            client_options: ClientOptions {
                proxy: Some(ProxyOptions::new(
                    "http://user:proxy-password-1@proxy.example:3128",
                )),
                ..ClientOptions::emulator(Some(emu.ca_cert_pem().as_bytes()))
            },
            ..Default::default()
        };
        show("client options", format!("{options:?}"));
        show("client", format!("{c:?}"));
        show("cache", format!("{cache:?} {:?}", cache.statistics()));
        show("set", format!("{set:?} {options:?}"));
        show("got", format!("{got:?} {props:?} {listed:?} {versions:?}"));
        show(
            "deleted",
            format!("{deleted:?} {in_bin:?} {restored:?} {cached:?}"),
        );
        show("pager", format!("{:?}", c.list_properties_of_secrets(None)));
        show("raw response", format!("{raw:?} {bad:?}"));
        for e in &errors {
            show("error", format!("{e} | {e:?}"));
        }
        show("value", format!("{:?}", got.value));
        // The emulator's own: its handle, a builder with an import that
        // holds the value.
        let import = format!(r#"{{"vaults":{{"emulator":{{"secrets":[{{"name":"s","versions":[{{"value":"{VALUE}"}}]}}]}}}}}}"#);
        show("emulator", format!("{emu:?} {:?}", Emulator::builder().import_json(import)));
        let header = emu.identity_header().to_owned();
        emu.shutdown().await;
        (blob, header)
    });
    let logs = captured.text();
    // The capture holds both sides' events...
    assert!(
        logs.contains("KeyVault.SetSecret"),
        "the client's spans:\n{logs}"
    );
    assert!(
        logs.contains("keyvault_emulator::access"),
        "the emulator's access lines:\n{logs}"
    );
    assert!(logs.contains(OID), "the emulator names the caller:\n{logs}");
    // ...and none of the secrets.
    use base64::Engine;
    let blob_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&blob);
    let needles = [
        ("value", VALUE),
        ("token", token.as_str()),
        ("backup blob", &blob_b64[..40]),
        ("proxy password", "proxy-password-1"),
        ("identity header", identity_header.as_str()),
    ];
    let logs_shown = ("logs".to_owned(), logs.clone());
    for (what, text) in shown.iter().chain(std::iter::once(&logs_shown)) {
        for (secret, needle) in needles {
            assert!(
                !text.contains(needle),
                "the {secret} shows in the {what}: {text}"
            );
        }
    }
    println!(
        "security: {} KiB of TRACE logs (client and emulator) and {} Debug and error texts hold no value, token, blob or password",
        logs.len() / 1024,
        shown.len()
    );
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
}
