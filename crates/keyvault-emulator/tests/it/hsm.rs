//! The Managed HSM endpoint without storage: challenge, role definitions,
//! role assignments, settings and keys.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{ROLE_ASSIGNMENTS, ROLE_DEFINITIONS, send_to, start};

const CRYPTO_USER: &str = "21dbd100-6940-42c2-9190-5d6cb909625b";
const BACKUP_USER: &str = "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8";
const DEF_PREFIX: &str = "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/";

fn ids(v: &Value) -> Vec<String> {
    v["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn challenge_names_the_hsm_resource() {
    let env = start().await;
    let r = send_to(
        &env.client,
        Method::GET,
        &env.hsm_url("/settings"),
        None,
        None,
    )
    .await;
    assert_eq!((r.status, r.code()), (401, "Unauthorized"));
    let challenge = r.headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.ends_with("resource=\"https://managedhsm.azure.net\""),
        "{challenge}"
    );
    env.emu.shutdown().await;
}

#[tokio::test]
async fn built_in_roles_are_listed_and_immutable() {
    let env = start().await;
    for path in [
        "/providers/Microsoft.Authorization/roleDefinitions",
        "///providers/Microsoft.Authorization/roleDefinitions",
        "/keys/providers/Microsoft.Authorization/roleDefinitions",
    ] {
        let r = env.hsm_get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let names = ids(&r.json);
        assert_eq!(names.len(), 9, "{path}");
        assert_eq!(names[0], BACKUP_USER);
        assert!(names.contains(&CRYPTO_USER.to_owned()));
    }
    let r = env
        .hsm_get(&format!("{ROLE_DEFINITIONS}/{CRYPTO_USER}"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["id"], format!("{DEF_PREFIX}{CRYPTO_USER}"));
    assert_eq!(r.json["type"], "Microsoft.Authorization/roleDefinitions");
    assert_eq!(r.json["properties"]["roleName"], "Managed HSM Crypto User");
    assert_eq!(r.json["properties"]["type"], "AKVBuiltInRole");
    assert_eq!(r.json["properties"]["assignableScopes"], json!(["/"]));
    let perms = &r.json["properties"]["permissions"][0];
    assert!(
        perms["dataActions"]
            .as_array()
            .unwrap()
            .contains(&json!("Microsoft.KeyVault/managedHsm/keys/create"))
    );
    assert_eq!(perms["notDataActions"], json!([]));

    // $filter by role name.
    let r = env
        .hsm_get("/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName%20eq%20'Managed%20HSM%20Administrator'")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.json), vec!["a290e904-7015-4bba-90c8-60543313cdb4"]);
    let r = env
        .hsm_get("/providers/Microsoft.Authorization/roleDefinitions?$filter=bogus")
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));

    // Built-in roles cannot be written or deleted.
    let body = json!({"properties": {"roleName": "mine", "permissions": []}});
    let path = format!("{ROLE_DEFINITIONS}/{CRYPTO_USER}");
    let r = env.hsm_call(Method::PUT, &path, Some(body)).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = env.hsm_delete(&path).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = env.hsm_get(&path).await;
    assert_eq!(r.json["properties"]["roleName"], "Managed HSM Crypto User");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn custom_roles_and_assignments_lifecycle() {
    let env = start().await;
    let role = "9d5b0a3e-3c4f-4f0e-8d3a-6b1f0c2d7e91";
    let def_path = format!("{ROLE_DEFINITIONS}/{role}");
    let body = json!({"properties": {
        "roleName": "key reader",
        "description": "reads keys",
        "permissions": [{"dataActions": ["Microsoft.KeyVault/managedHsm/keys/read/action"]}],
        "assignableScopes": ["/"],
    }});
    let r = env.hsm_call(Method::PUT, &def_path, Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["id"], format!("{DEF_PREFIX}{role}"));
    assert_eq!(r.json["properties"]["type"], "CustomRole");
    assert_eq!(
        r.json["properties"]["permissions"][0],
        json!({"actions": [], "notActions": [], "dataActions": ["Microsoft.KeyVault/managedHsm/keys/read/action"], "notDataActions": []})
    );
    // Update in place (still 201, like the service).
    let body = json!({"properties": {"roleName": "", "permissions": [{"notDataActions": ["Microsoft.KeyVault/managedHsm/keys/read/action"]}]}});
    let r = env.hsm_call(Method::PUT, &def_path, Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["properties"]["description"], "");
    let list = env
        .hsm_get("/providers/Microsoft.Authorization/roleDefinitions")
        .await;
    assert_eq!(ids(&list.json).len(), 10);
    assert_eq!(ids(&list.json)[9], role);

    // Names must be GUIDs; bodies are validated.
    let r = env
        .hsm_call(
            Method::PUT,
            "/providers/Microsoft.Authorization/roleDefinitions/not-a-guid",
            Some(json!({"properties": {}})),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    let r = env
        .hsm_call(Method::PUT, &def_path, Some(json!({"nope": 1})))
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    let r = env
        .hsm_call(
            Method::PUT,
            &def_path,
            Some(json!({"properties": {"permissions": [{"dataActions": [1]}]}})),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));

    // Assignments: at "/" and at "/keys".
    let a1 = "0c8a4a45-2a2b-4d2c-9c55-1e0b7e7c2f01";
    let a2 = "0c8a4a45-2a2b-4d2c-9c55-1e0b7e7c2f02";
    let r = env.put_assignment("", a1, role, "p1").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.json,
        json!({
            "id": format!("/providers/Microsoft.Authorization/roleAssignments/{a1}"),
            "name": a1,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"principalId": "p1", "roleDefinitionId": format!("{DEF_PREFIX}{role}"), "scope": "/"},
        })
    );
    let r = env.put_assignment("/keys", a2, CRYPTO_USER, "p2").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.json["id"],
        format!("/keys/providers/Microsoft.Authorization/roleAssignments/{a2}")
    );
    assert_eq!(r.json["properties"]["scope"], "/keys");
    // Same name again: conflict.
    let r = env.put_assignment("", a1, role, "p1").await;
    assert_eq!(r.status, 409, "{}", r.text);
    // Unknown role definition: 400.
    let r = env
        .hsm_call(
            Method::PUT,
            "/providers/Microsoft.Authorization/roleAssignments/0c8a4a45-2a2b-4d2c-9c55-1e0b7e7c2f03",
            Some(json!({"properties": {"roleDefinitionId": format!("{DEF_PREFIX}00000000-0000-0000-0000-000000000000"), "principalId": "p3"}})),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"), "{}", r.text);

    // A role assignable only at /keys cannot be assigned at /.
    let keys_role = "9d5b0a3e-3c4f-4f0e-8d3a-6b1f0c2d7e92";
    let r = env
        .hsm_call(
            Method::PUT,
            &format!("{ROLE_DEFINITIONS}/{keys_role}"),
            Some(json!({"properties": {"roleName": "k", "permissions": [], "assignableScopes": ["/keys"]}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = env
        .put_assignment("", "0c8a4a45-2a2b-4d2c-9c55-1e0b7e7c2f04", keys_role, "p4")
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"), "{}", r.text);
    let r = env
        .hsm_delete(&format!("{ROLE_DEFINITIONS}/{keys_role}"))
        .await;
    assert_eq!(r.status, 200);

    // Lists and filters.
    let all = env
        .hsm_get("/providers/Microsoft.Authorization/roleAssignments")
        .await;
    assert_eq!(ids(&all.json).len(), 2);
    let at_root = env
        .hsm_get("/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()")
        .await;
    assert_eq!(ids(&at_root.json), vec![a1]);
    let at_keys = env
        .hsm_get("/keys/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()")
        .await;
    assert_eq!(ids(&at_keys.json).len(), 2);
    let by_principal = env
        .hsm_get(
            "/providers/Microsoft.Authorization/roleAssignments?$filter=principalId%20eq%20'p2'",
        )
        .await;
    assert_eq!(ids(&by_principal.json), vec![a2]);
    let r = env
        .hsm_get("/providers/Microsoft.Authorization/roleAssignments?$filter=roleName%20eq%20'x'")
        .await;
    assert_eq!(r.status, 400);

    // A role in use cannot be deleted.
    let r = env.hsm_delete(&def_path).await;
    assert_eq!(r.status, 409, "{}", r.text);
    let r = env.hsm_get(&format!("{ROLE_ASSIGNMENTS}/{a1}")).await;
    assert_eq!(r.json["properties"]["principalId"], "p1");
    let r = env.hsm_delete(&format!("{ROLE_ASSIGNMENTS}/{a1}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["name"], a1);
    let r = env.hsm_delete(&format!("{ROLE_ASSIGNMENTS}/{a1}")).await;
    assert_eq!((r.status, r.code()), (404, "RoleAssignmentNotFound"));
    let r = env.hsm_delete(&def_path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = env.hsm_get(&def_path).await;
    assert_eq!((r.status, r.code()), (404, "RoleDefinitionNotFound"));

    // Bad scopes are 400, not 404 or 500.
    let r = env
        .hsm_get("/secrets/providers/Microsoft.Authorization/roleAssignments")
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    env.emu.shutdown().await;
}

#[tokio::test]
async fn settings_round_trip() {
    let env = start().await;
    let r = env.hsm_get("/settings").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"settings": [{"name": "AllowKeyManagementOperationsThroughARM", "type": "boolean", "value": "false"}]})
    );
    let path = "/settings/AllowKeyManagementOperationsThroughARM";
    let r = env
        .hsm_call(Method::PATCH, path, Some(json!({"value": "True"})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["value"], "true");
    let r = env.hsm_get(path).await;
    assert_eq!(
        r.json,
        json!({"name": "AllowKeyManagementOperationsThroughARM", "type": "boolean", "value": "true"})
    );
    let r = env
        .hsm_call(Method::PATCH, path, Some(json!({"value": "maybe"})))
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    let r = env
        .hsm_call(Method::PATCH, path, Some(json!({"value": true})))
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    let r = env.hsm_call(Method::PATCH, path, None).await;
    assert_eq!(r.status, 400);
    let r = env.hsm_get("/settings/NoSuchSetting").await;
    assert_eq!((r.status, r.code()), (404, "SettingNotFound"));
    let r = env.hsm_delete(path).await;
    assert_eq!(r.status, 405);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn keys_lifecycle() {
    let env = start().await;
    let r = env
        .hsm_call(
            Method::POST,
            "/keys/rsa-key/create",
            Some(json!({"kty": "RSA-HSM", "key_size": 2048, "tags": {"t": "1"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let kid = r.json["key"]["kid"].as_str().unwrap().to_owned();
    assert!(
        kid.starts_with(&format!("{}/keys/rsa-key/", env.hsm)),
        "{kid}"
    );
    assert_eq!(r.json["key"]["kty"], "RSA-HSM");
    assert_eq!(r.json["key"]["e"], "AQAB");
    assert!(r.json["key"]["n"].as_str().unwrap().len() > 300);
    assert!(r.json["key"].get("d").is_none(), "no private parts");
    assert_eq!(r.json["attributes"]["enabled"], true);
    assert_eq!(r.json["attributes"]["exportable"], false);
    assert_eq!(r.json["attributes"]["recoverableDays"], 90);
    assert_eq!(r.json["tags"], json!({"t": "1"}));

    let r = env
        .hsm_call(
            Method::POST,
            "/keys/ec-key/create",
            Some(json!({"kty": "EC-HSM", "crv": "P-384"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["key"]["crv"], "P-384");
    assert!(r.json["key"]["x"].is_string() && r.json["key"]["y"].is_string());
    let r = env.create_key("oct-key", "oct-HSM").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["key"]["kty"], "oct-HSM");
    assert!(r.json["key"].get("k").is_none());
    // A second version.
    let r = env.create_key("oct-key", "oct").await;
    assert_eq!(r.status, 200);

    for (body, what) in [
        (json!({"kty": "RSA", "key_size": 1000}), "size"),
        (json!({"kty": "EC", "crv": "P-521"}), "curve"),
        (json!({"kty": "nope"}), "kty"),
        (json!({"key_size": 2048}), "no kty"),
        (json!([1]), "not an object"),
    ] {
        let r = env
            .hsm_call(Method::POST, "/keys/bad/create", Some(body))
            .await;
        assert_eq!((r.status, r.code()), (400, "BadParameter"), "{what}");
    }
    let r = env
        .hsm_call(
            Method::POST,
            "/keys/bad_name/create",
            Some(json!({"kty": "oct"})),
        )
        .await;
    assert_eq!(r.status, 400);

    let r = env.hsm_get("/keys/rsa-key").await;
    assert_eq!(r.json["key"]["kid"], kid.as_str());
    let r = env.hsm_get("/keys/rsa-key/").await;
    assert_eq!(r.json["key"]["kid"], kid.as_str(), "empty version = latest");
    let version = kid.rsplit('/').next().unwrap();
    let r = env.hsm_get(&format!("/keys/rsa-key/{version}")).await;
    assert_eq!(r.status, 200);
    let r = env.hsm_get("/keys?maxresults=2").await;
    assert_eq!(r.json["value"].as_array().unwrap().len(), 2);
    assert!(r.json["nextLink"].is_string());
    assert_eq!(
        r.json["value"][0]["kid"],
        format!("{}/keys/ec-key", env.hsm)
    );
    let r = env.hsm_get("/keys/oct-key/versions").await;
    assert_eq!(r.json["value"].as_array().unwrap().len(), 2);
    // Like a secret's: a key that does not exist has no versions.
    let r = env.hsm_get("/keys/never-created/versions").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json, json!({"value": [], "nextLink": null}));
    let r = env
        .hsm_call(
            Method::PATCH,
            &format!("/keys/rsa-key/{version}"),
            Some(json!({"attributes": {"enabled": false}})),
        )
        .await;
    assert_eq!(r.json["attributes"]["enabled"], false, "{}", r.text);

    // Soft delete, recover, delete, purge.
    let r = env.hsm_delete("/keys/rsa-key").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["recoveryId"],
        format!("{}/deletedkeys/rsa-key", env.hsm)
    );
    assert!(
        r.json["scheduledPurgeDate"].as_i64().unwrap() > r.json["deletedDate"].as_i64().unwrap()
    );
    let r = env.hsm_get("/keys/rsa-key").await;
    assert_eq!((r.status, r.code()), (404, "KeyNotFound"));
    let r = env.create_key("rsa-key", "RSA").await;
    assert_eq!(r.status, 409);
    let r = env.hsm_get("/deletedkeys").await;
    assert_eq!(
        r.json["value"][0]["kid"],
        format!("{}/keys/rsa-key", env.hsm)
    );
    let r = env.hsm_get("/deletedkeys/rsa-key").await;
    assert_eq!(r.status, 200);
    let r = env
        .hsm_call(Method::POST, "/deletedkeys/rsa-key/recover", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["key"]["kid"], kid.as_str());
    env.hsm_delete("/keys/rsa-key").await;
    let r = env.hsm_delete("/deletedkeys/rsa-key").await;
    assert_eq!(r.status, 204);
    let r = env.hsm_get("/deletedkeys/rsa-key").await;
    assert_eq!(r.status, 404);
    let r = env.hsm_delete("/deletedkeys/ec-key").await;
    assert_eq!(r.status, 404, "a live key cannot be purged");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn odd_requests_get_service_errors() {
    let env = start().await;
    let r = env.hsm_get("/settings?api-version=1.0").await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    let r = env.hsm_get("/nothing/here").await;
    assert_eq!(r.status, 404);
    for (method, path) in [
        (Method::POST, "/backup"),
        (Method::PUT, "/restore"),
        (Method::PUT, "/keys/k/restore"),
    ] {
        for body in [
            None,
            Some(json!("x")),
            Some(json!({})),
            Some(json!({"storageResourceUri": "nope", "token": "t"})),
            Some(json!({"storageResourceUri": "http://h/c", "token": 5})),
            Some(
                json!({"sasTokenParameters": {"storageResourceUri": "http://h/c"}, "folderToRestore": "f"}),
            ),
        ] {
            let r = env.hsm_call(method.clone(), path, body.clone()).await;
            assert_eq!(
                (r.status, r.code()),
                (400, "BadParameter"),
                "{method} {path} {body:?}: {}",
                r.text
            );
        }
    }
    let r = env
        .hsm_call(
            Method::POST,
            "/prebackup?api-version=7.5",
            Some(json!({"storageResourceUri": "http://127.0.0.1:1/c", "token": "t"})),
        )
        .await;
    assert_eq!(r.status, 400, "prebackup needs 7.6-preview.2");
    let r = env.hsm_get("/backup/0123/pending").await;
    assert_eq!((r.status, r.code()), (404, "JobNotFound"));
    env.emu.shutdown().await;
}

#[tokio::test]
async fn no_route_answers_500_to_odd_input() {
    let env = start().await;
    let routes = [
        (
            Method::PUT,
            "/providers/Microsoft.Authorization/roleDefinitions/9d5b0a3e-3c4f-4f0e-8d3a-6b1f0c2d7e99",
        ),
        (
            Method::PUT,
            "/keys/k/providers/Microsoft.Authorization/roleAssignments/9d5b0a3e-3c4f-4f0e-8d3a-6b1f0c2d7e98",
        ),
        (
            Method::GET,
            "/providers/Microsoft.Authorization/roleAssignments?$filter=principalId%20eq%20'%C3%A9",
        ),
        (
            Method::GET,
            "/%FF/providers/Microsoft.Authorization/roleDefinitions",
        ),
        (
            Method::GET,
            "/providers/Microsoft.Authorization/roleDefinitions/a/b",
        ),
        (Method::GET, "/providers/Microsoft.Authorization/nothing"),
        (
            Method::PATCH,
            "/settings/AllowKeyManagementOperationsThroughARM",
        ),
        (Method::POST, "/keys/k/create"),
        (Method::PATCH, "/keys/k/v"),
        (Method::POST, "/backup"),
        (Method::PUT, "/restore"),
        (Method::PUT, "/keys/k/restore"),
        (Method::POST, "/prebackup"),
        (Method::PUT, "/prerestore"),
        (Method::GET, "/keys?maxresults=0"),
        (Method::GET, "/keys?$skiptoken=%%%"),
        (Method::GET, "/restore/%00/pending"),
    ];
    let bodies = [
        None,
        Some(json!(null)),
        Some(json!([])),
        Some(json!("text")),
        Some(json!({"properties": null})),
        Some(json!({"properties": {"permissions": "x", "roleDefinitionId": 1}})),
        Some(json!({"kty": "RSA", "key_size": -1, "attributes": {"exp": "soon"}})),
        Some(json!({"value": {"nested": true}})),
        Some(json!({"sasTokenParameters": [], "folder": 1, "folderToRestore": null})),
    ];
    for (method, path) in &routes {
        for body in &bodies {
            let r = env.hsm_call(method.clone(), path, body.clone()).await;
            assert!(
                (400..500).contains(&r.status),
                "{method} {path} {body:?}: {} {}",
                r.status,
                r.text
            );
            assert!(
                r.json["error"]["code"].is_string(),
                "{method} {path}: {}",
                r.text
            );
        }
    }
    // Not JSON at all.
    let r = env
        .client
        .post(env.hsm_url("/keys/k/create"))
        .header("Authorization", "Bearer t")
        .body(vec![0xff, 0xfe, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn deleted_keys_are_purged_when_the_clock_passes_their_date() {
    let env = crate::common::start_with(
        keyvault_emulator::Emulator::builder().soft_delete_retention_days(7),
    )
    .await;
    env.create_key("old", "oct").await;
    let r = env.hsm_delete("/keys/old").await;
    assert_eq!(r.json["attributes"]["recoverableDays"], 7);
    assert_eq!(
        r.json["attributes"]["recoveryLevel"],
        "CustomizedRecoverable+Purgeable"
    );
    env.emu
        .advance_clock(std::time::Duration::from_secs(6 * 86_400))
        .await;
    assert_eq!(env.hsm_get("/deletedkeys/old").await.status, 200);
    env.emu
        .advance_clock(std::time::Duration::from_secs(2 * 86_400))
        .await;
    assert_eq!(env.hsm_get("/deletedkeys/old").await.status, 404);
    env.emu.shutdown().await;
}

/// Follows a role listing's `nextLink`s; returns the page sizes and names.
async fn walk_roles(env: &crate::common::Env, first: &str) -> (Vec<usize>, Vec<String>) {
    let (mut sizes, mut names) = (Vec::new(), Vec::new());
    let mut url = env.hsm_url(first);
    loop {
        let r = send_to(&env.client, Method::GET, &url, None, Some("test")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json["value"].as_array().unwrap();
        sizes.push(page.len());
        names.extend(page.iter().map(|v| v["name"].as_str().unwrap().to_owned()));
        match r.json["nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return (sizes, names),
        }
    }
}

#[tokio::test]
async fn role_listings_are_paged_and_keep_their_filter() {
    let env = start().await;
    for i in 0..30 {
        let name = format!("0c8a4a45-2a2b-4d2c-9c55-1e0b7e7c{i:04}");
        let principal = if i % 3 == 0 { "p-three" } else { "p-other" };
        let r = env.put_assignment("", &name, CRYPTO_USER, principal).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let (sizes, names) = walk_roles(&env, &format!("{ROLE_ASSIGNMENTS}?maxresults=7")).await;
    assert_eq!(sizes, [7, 7, 7, 7, 2]);
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, names, "in name order, each once");

    let filtered = format!("{ROLE_ASSIGNMENTS}?maxresults=4&$filter=principalId%20eq%20'p-three'");
    let (sizes, names) = walk_roles(&env, &filtered).await;
    assert_eq!(sizes, [4, 4, 2]);
    assert_eq!(names.len(), 10);

    for i in 0..20 {
        let name = format!("3f1b7c2e-8d4a-4e6f-9a0b-1c2d3e4f{i:04}");
        let body = json!({"properties": {"roleName": format!("custom {i}"), "permissions": []}});
        let r = env
            .hsm_call(
                Method::PUT,
                &format!("{ROLE_DEFINITIONS}/{name}"),
                Some(body),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let (sizes, names) = walk_roles(&env, &format!("{ROLE_DEFINITIONS}?maxresults=8")).await;
    assert_eq!(
        sizes,
        [8, 8, 8, 5],
        "9 built-in roles first, then 20 custom ones"
    );
    assert!(
        names[..9]
            .iter()
            .any(|n| n == "a290e904-7015-4bba-90c8-60543313cdb4")
    );
    assert!(
        names[9..].iter().all(|n| n.starts_with("3f1b7c2e")),
        "{names:?}"
    );
    let one = format!("{ROLE_DEFINITIONS}?maxresults=1&$filter=roleName%20eq%20'custom%2019'");
    let (sizes, names) = walk_roles(&env, &one).await;
    assert_eq!((sizes.iter().sum::<usize>(), names.len()), (1, 1));
    env.emu.shutdown().await;
}
