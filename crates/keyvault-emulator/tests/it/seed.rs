//! Seeding and export: `import_json` / `import_file` at start-up and
//! `GET /_emulator/export`.

use keyvault_emulator::{Emulator, ErrorKind};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Env, ROLE_DEFINITIONS, start, start_with};

const ROLE: &str = "0c0ffee0-1111-4222-8333-444455556666";
const ASSIGNMENT: &str = "a55e7000-1111-4222-8333-444455556666";
const SETTING: &str = "AllowKeyManagementOperationsThroughARM";

/// The export document of `env`.
async fn export(env: &Env) -> Value {
    let url = format!("{}/_emulator/export", env.base);
    // It holds every value: the service's authentication applies.
    let r = env.client.get(&url).send().await.expect("export answers");
    assert_eq!(r.status(), 401);
    let r = env
        .client
        .get(&url)
        .bearer_auth("t")
        .send()
        .await
        .expect("export answers");
    assert_eq!(r.status(), 200);
    serde_json::from_str(&r.text().await.expect("a body")).expect("export is JSON")
}

/// Fills an emulator through its REST API with one of everything.
async fn fill(env: &Env) {
    let tags = json!({"env": "test", "team": "a"});
    env.set(
        "db-password",
        json!({"value": "one", "contentType": "text/plain", "tags": tags}),
    )
    .await;
    env.set(
        "db-password",
        json!({"value": "two", "attributes": {"enabled": false, "nbf": 1000, "exp": 4_000_000_000u64}}),
    )
    .await;
    env.set("old", json!({"value": "bye"})).await;
    assert_eq!(env.delete("/secrets/old").await.status, 200);
    for (name, kty) in [
        ("signing", "EC-HSM"),
        ("wrapping", "oct-HSM"),
        ("rsa", "RSA-HSM"),
    ] {
        let r = env.create_key(name, kty).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = env
        .hsm_call(
            Method::PATCH,
            "/keys/wrapping",
            Some(json!({"tags": {"k": "v"}, "key_ops": ["wrapKey"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(env.create_key("retired", "EC-HSM").await.status, 200);
    assert_eq!(env.hsm_delete("/keys/retired").await.status, 200);
    let role = json!({"properties": {
        "roleName": "Key reader", "description": "reads keys",
        "permissions": [{"dataActions": ["Microsoft.KeyVault/managedHsm/keys/read/action"]}],
        "assignableScopes": ["/keys"]}});
    let path = format!("{ROLE_DEFINITIONS}/{ROLE}");
    let r = env.hsm_call(Method::PUT, &path, Some(role)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = env
        .put_assignment("/keys", ASSIGNMENT, ROLE, "principal-1")
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let path = format!("/settings/{SETTING}");
    let r = (env.hsm_call(Method::PATCH, &path, Some(json!({"value": "true"})))).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn an_export_imports_into_a_fresh_emulator_unchanged() {
    let first = start().await;
    fill(&first).await;
    let doc = export(&first).await;
    let vault = &doc["vaults"]["emulator"];
    let secrets = vault["secrets"].as_array().expect("secrets");
    assert_eq!(secrets.len(), 2, "{doc:#}");
    let db = &secrets[0];
    assert_eq!(db["name"], "db-password");
    assert_eq!(db["versions"][0]["value"], "one");
    assert_eq!(db["versions"][0]["tags"]["team"], "a");
    assert_eq!(db["versions"][1]["value"], "two", "the latest is last");
    assert_eq!(db["versions"][1]["attributes"]["enabled"], false);
    assert_eq!(db["versions"][1]["attributes"]["exp"], 4_000_000_000u64);
    assert!(secrets[1]["deleted"]["scheduledPurgeDate"].is_i64());
    let hsm = &doc["hsms"]["emulator"];
    assert_eq!(hsm["keys"].as_array().map(Vec::len), Some(4));
    assert_eq!(hsm["roleDefinitions"][0]["name"], ROLE, "custom roles only");
    assert_eq!(hsm["roleDefinitions"].as_array().map(Vec::len), Some(1));
    assert_eq!(hsm["roleAssignments"][0]["properties"]["scope"], "/keys");
    assert_eq!(hsm["settings"], json!([{"name": SETTING, "value": "true"}]));

    let second = start_with(Emulator::builder().import_json(doc.to_string())).await;
    assert_eq!(export(&second).await, doc, "export, import, export");
    // The imported state is served like any other.
    let id = db["versions"][0]["version"].as_str().expect("a version id");
    let r = second.get(&format!("/secrets/db-password/{id}")).await;
    assert_eq!((r.status, &r.json["value"]), (200, &json!("one")));
    assert_eq!(
        second.get("/secrets/db-password").await.status,
        403,
        "disabled"
    );
    assert_eq!(second.get("/deletedsecrets/old").await.status, 200);
    let (a, b) = (
        first.hsm_get("/keys/signing").await,
        second.hsm_get("/keys/signing").await,
    );
    assert_eq!(a.json["key"]["x"], b.json["key"]["x"]);
    let (a, b) = (
        first.hsm_get("/keys/rsa").await,
        second.hsm_get("/keys/rsa").await,
    );
    assert_eq!(a.json["key"]["n"], b.json["key"]["n"]);
    assert_eq!(second.hsm_get("/deletedkeys/retired").await.status, 200);
    let r = second
        .hsm_get(&format!("/keys{ROLE_DEFINITIONS}/{ROLE}"))
        .await;
    assert_eq!(r.json["properties"]["roleName"], "Key reader");
    let r = second.hsm_get(&format!("/settings/{SETTING}")).await;
    assert_eq!(r.json["value"], "true");
}

/// A hand-written file: no version ids, no times.
fn seed_file(value: &str) -> Value {
    json!({"vaults": {"emulator": {"secrets": [
        {"name": "api-key", "versions": [{"value": "first"}, {"value": value, "tags": {"a": "b"}}]},
        {"name": "gone", "versions": [{"value": "x"}], "deleted": {}},
    ]}}})
}

#[tokio::test]
async fn importing_again_on_restart_changes_nothing_and_the_file_wins() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("seed.json");
    std::fs::write(&file, seed_file("second").to_string()).unwrap();
    let builder = || {
        (Emulator::builder())
            .data_dir(data.path().join("db"))
            .import_file(&file)
    };
    let env = start_with(builder()).await;
    let before = export(&env).await;
    let versions = &before["vaults"]["emulator"]["secrets"][0]["versions"];
    assert_eq!(versions.as_array().map(Vec::len), Some(2));
    assert_eq!(env.get("/secrets/api-key").await.json["value"], "second");
    assert_eq!(env.get("/deletedsecrets/gone").await.status, 200);
    env.emu.shutdown().await;

    let env = start_with(builder()).await;
    assert_eq!(export(&env).await, before, "the same file again");
    // What the file does not name stays; what it names is as it says.
    env.set("api-key", json!({"value": "third"})).await;
    env.set("other", json!({"value": "mine"})).await;
    env.emu.shutdown().await;
    std::fs::write(&file, seed_file("changed").to_string()).unwrap();
    let env = start_with(builder()).await;
    assert_eq!(env.list_all("/secrets/api-key/versions").await.len(), 3);
    assert_eq!(env.get("/secrets/api-key").await.json["value"], "changed");
    assert_eq!(env.get("/secrets/other").await.json["value"], "mine");
    let id = versions[0]["version"].as_str().unwrap();
    let r = env.get(&format!("/secrets/api-key/{id}")).await;
    assert_eq!(r.json["value"], "first", "the same generated id");
}

#[tokio::test]
async fn a_bad_file_names_the_entry_and_imports_nothing() {
    let data = tempfile::tempdir().unwrap();
    let good = |i: usize| json!({"name": format!("s{i}"), "versions": [{"value": "v"}]});
    let mut secrets: Vec<Value> = (0..3).map(good).collect();
    secrets
        .push(json!({"name": "s3", "versions": [{"value": "v", "attributes": {"exp": "soon"}}]}));
    let bad_type = json!({"vaults": {"emulator": {"secrets": secrets.clone()}}});
    secrets[3] = good(3);
    let too_big = json!({"name": "big", "versions": [{"value": "x".repeat(25 * 1024 + 1)}]});
    let unknown_role = json!({"name": ASSIGNMENT, "properties": {
        "roleDefinitionId": format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{ROLE}"),
        "principalId": "p"}});
    let cases = [
        (
            bad_type,
            "vaults.emulator.secrets[3].versions[0].attributes.exp: invalid type",
        ),
        (
            json!({"vaults": {"emulator": {"secrets": [secrets[0], too_big]}}}),
            "vaults.emulator.secrets[1].versions[0].value: 25601 bytes is too large",
        ),
        (
            json!({"vaults": {"emulator": {"secrets": secrets}},
                   "hsms": {"emulator": {"roleAssignments": [unknown_role]}}}),
            "hsms.emulator.roleAssignments[0].properties.roleDefinitionId: the role definition",
        ),
        (
            json!({"vaults": {"emulator": {"secrets": [good(0), good(0)]}}}),
            "vaults.emulator.secrets[1].name: the secret 's0' appears twice",
        ),
        (
            json!({"vaults": {"elsewhere": {}}}),
            "vaults.elsewhere: no vault of that name (known: emulator)",
        ),
        (
            json!({"hsms": {"emulator": {"settings": [{"name": SETTING, "value": "maybe"}]}}}),
            "hsms.emulator.settings[0]: The value of setting",
        ),
        (
            json!({"hsms": {"emulator": {"keys": [{"name": "k", "versions": [
                {"key": {"kty": "oct-HSM"}, "privateKey": "AAAA"}]}]}}}),
            "hsms.emulator.keys[0].versions[0].privateKey: a symmetric key of 3 bytes",
        ),
    ];
    for (doc, expected) in cases {
        let builder = (Emulator::builder())
            .data_dir(data.path())
            .import_json(doc.to_string());
        let e = builder
            .start()
            .await
            .expect_err("a bad file stops the start");
        assert_eq!(e.kind(), ErrorKind::Config);
        let message = e.to_string();
        assert!(
            message.contains(expected),
            "{message}\nexpected: {expected}"
        );
        assert!(!message.contains("xxxxxxxx"), "no value in the error");
    }
    let env = start_with(Emulator::builder().data_dir(data.path())).await;
    let doc = export(&env).await;
    assert_eq!(doc["vaults"]["emulator"]["secrets"], json!([]), "{doc:#}");
    assert_eq!(doc["hsms"]["emulator"]["settings"], json!([]));
}

#[tokio::test]
async fn imported_keys_keep_their_material_and_files_are_read() {
    let first = start().await;
    assert_eq!(first.create_key("k", "EC-HSM").await.status, 200);
    let mut doc = export(&first).await;
    let version = &mut doc["hsms"]["emulator"]["keys"][0]["versions"][0];
    // The public members may be left out: they come from the private key.
    let x = version["key"]
        .as_object_mut()
        .unwrap()
        .remove("x")
        .expect("an EC key has x");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seed.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let second = start_with(Emulator::builder().import_file(&file)).await;
    assert_eq!(second.hsm_get("/keys/k").await.json["key"]["x"], x);
    // A public member that does not match is refused.
    doc["hsms"]["emulator"]["keys"][0]["versions"][0]["key"]["x"] = json!("AAAA");
    let e = (Emulator::builder()
        .import_json(doc.to_string())
        .start()
        .await)
        .unwrap_err();
    let expected = "hsms.emulator.keys[0].versions[0].key.x: does not match the private key";
    assert!(e.to_string().contains(expected), "{e}");
    let e = (Emulator::builder()
        .import_file(dir.path().join("none.json"))
        .start()
        .await)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
}

#[tokio::test]
async fn the_readme_example_imports() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("## Seeding and export")
        .nth(1)
        .expect("the section");
    let example = section.split("```json").nth(1).expect("an example");
    let example = example.split("```").next().unwrap_or_default();
    let env = start_with(Emulator::builder().import_json(example)).await;
    let r = env.get("/secrets/db-password").await;
    assert_eq!((r.status, &r.json["value"]), (200, &json!("hunter2")));
    assert_eq!(env.list_all("/secrets/db-password/versions").await.len(), 2);
    assert_eq!(env.get("/deletedsecrets/old").await.status, 200);
    let r = env.hsm_get("/keys/wrapping").await;
    assert_eq!(r.json["key"]["key_ops"], json!(["wrapKey", "unwrapKey"]));
    let doc = export(&env).await;
    assert_eq!(
        doc["hsms"]["emulator"]["roleAssignments"][0]["name"],
        ASSIGNMENT
    );
}

#[tokio::test]
async fn named_vaults_and_hsms_import_and_export_apart() {
    let seed = json!({
        "vaults": {"Orders": {"secrets": [{"name": "db", "versions": [{"value": "o"}]}]}},
        "hsms": {"keys": {"settings": [{"name": SETTING, "value": "true"}]}},
    });
    let builder = (Emulator::builder().vault("billing").vault("orders"))
        .hsm("keys")
        .hsm("other");
    let env = start_with(builder.clone().import_json(seed.to_string())).await;
    let doc = export(&env).await;
    assert_eq!(doc["vaults"]["orders"]["secrets"][0]["name"], "db");
    assert_eq!(doc["vaults"]["billing"]["secrets"], json!([]));
    assert_eq!(doc["hsms"]["keys"]["settings"][0]["value"], "true");
    assert_eq!(doc["hsms"]["other"]["settings"], json!([]));
    let orders = env.emu.vault_url_named("orders").unwrap();
    let url = format!("{orders}secrets/db?api-version={}", crate::common::API);
    let r = crate::common::send_to(&env.client, Method::GET, &url, None, Some("t")).await;
    assert_eq!(r.json["value"], "o");
    assert_eq!(env.get("/secrets/db").await.status, 404, "billing has none");

    let e = builder
        .import_json(r#"{"hsms": {"emulator": {}}}"#)
        .start()
        .await
        .unwrap_err();
    let expected = "hsms.emulator: no hsm of that name (known: keys, other)";
    assert!(e.to_string().contains(expected), "{e}");
}
