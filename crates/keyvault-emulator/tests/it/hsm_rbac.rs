//! RBAC enforcement on the HSM endpoint (`--rbac enforce`).

use keyvault_emulator::{AuthMode, Emulator, RbacMode};
use reqwest::Method;
use serde_json::json;

use crate::common::{Env, ROLE_DEFINITIONS, jwt, start_with};

const DEF: &str = "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/";
const CRYPTO_USER: &str = "21dbd100-6940-42c2-9190-5d6cb909625b";
const AUDITOR: &str = "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3";
const BACKUP_USER: &str = "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8";

async fn enforcing() -> Env {
    start_with(
        Emulator::builder()
            .auth(AuthMode::Jwt)
            .rbac(RbacMode::Enforce)
            .hsm_admin("admin-oid"),
    )
    .await
}

async fn assign(env: &Env, admin: &str, n: u32, scope: &str, role: &str, principal: &str) {
    let prefix = if scope == "/" { "" } else { scope };
    let r = env
        .hsm_call_as(
            admin,
            Method::PUT,
            &format!("{prefix}/providers/Microsoft.Authorization/roleAssignments/00000000-0000-0000-0000-{n:012}"),
            Some(json!({"properties": {"roleDefinitionId": format!("{DEF}{role}"), "principalId": principal}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn enforcement_needs_jwt_auth() {
    let err = Emulator::builder()
        .rbac(RbacMode::Enforce)
        .start()
        .await
        .unwrap_err();
    assert!(err.is_config(), "{err}");
}

#[tokio::test]
async fn roles_allow_and_deny() {
    let env = enforcing().await;
    let admin = jwt("admin-oid");
    let user = jwt("user-oid");
    let auditor = jwt("auditor-oid");
    let backup = jwt("backup-oid");
    let stranger = jwt("stranger-oid");

    // The initial administrator's assignment is visible.
    let r = env
        .hsm_call_as(
            &admin,
            Method::GET,
            "/providers/Microsoft.Authorization/roleAssignments",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["value"][0]["properties"]["principalId"], "admin-oid");

    // The administrator manages roles but has no key permissions.
    let r = env
        .hsm_call_as(
            &admin,
            Method::POST,
            "/keys/k1/create",
            Some(json!({"kty": "oct"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "ForbiddenByRbac"), "{}", r.text);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("keys/create")
    );

    // A stranger can do nothing.
    for (m, p) in [
        (
            Method::GET,
            "/providers/Microsoft.Authorization/roleDefinitions",
        ),
        (Method::GET, "/keys"),
        (Method::GET, "/settings"),
    ] {
        let r = env.hsm_call_as(&stranger, m, p, None).await;
        assert_eq!((r.status, r.code()), (403, "ForbiddenByRbac"), "{p}");
    }

    assign(&env, &admin, 1, "/keys", CRYPTO_USER, "user-oid").await;
    assign(&env, &admin, 2, "/", AUDITOR, "auditor-oid").await;
    assign(&env, &admin, 3, "/", BACKUP_USER, "backup-oid").await;

    // Crypto User at /keys: creates and reads keys, cannot assign roles.
    let r = env
        .hsm_call_as(
            &user,
            Method::POST,
            "/keys/k1/create",
            Some(json!({"kty": "oct"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = env.hsm_call_as(&user, Method::GET, "/keys/k1", None).await;
    assert_eq!(r.status, 200);
    let r = env
        .hsm_call_as(
            &user,
            Method::PUT,
            "/providers/Microsoft.Authorization/roleAssignments/00000000-0000-0000-0000-000000000009",
            Some(json!({"properties": {"roleDefinitionId": format!("{DEF}{CRYPTO_USER}"), "principalId": "x"}})),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "ForbiddenByRbac"));
    // Crypto User may restore one of its keys (the bad body is then a 400).
    let r = env
        .hsm_call_as(&user, Method::PUT, "/keys/k1/restore", Some(json!({})))
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"), "{}", r.text);
    let r = env
        .hsm_call_as(&user, Method::PUT, "/restore", Some(json!({})))
        .await;
    assert_eq!(r.status, 403, "but not the whole HSM");
    // Crypto User cannot start a backup.
    let r = env
        .hsm_call_as(&user, Method::POST, "/backup", Some(json!({})))
        .await;
    assert_eq!(r.status, 403);

    // Auditor: reads keys and roles, cannot delete or create.
    let r = env.hsm_call_as(&auditor, Method::GET, "/keys", None).await;
    assert_eq!(r.status, 200);
    let r = env
        .hsm_call_as(
            &auditor,
            Method::GET,
            "/providers/Microsoft.Authorization/roleAssignments",
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let r = env
        .hsm_call_as(&auditor, Method::DELETE, "/keys/k1", None)
        .await;
    assert_eq!((r.status, r.code()), (403, "ForbiddenByRbac"));
    let r = env
        .hsm_call_as(
            &auditor,
            Method::POST,
            "/keys/k2/create",
            Some(json!({"kty": "oct"})),
        )
        .await;
    assert_eq!(r.status, 403);
    // Nothing changed.
    let r = env.hsm_call_as(&user, Method::GET, "/keys/k1", None).await;
    assert_eq!(r.status, 200);
    let r = env.hsm_call_as(&user, Method::GET, "/keys/k2", None).await;
    assert_eq!(r.status, 404);

    // Backup User: may start a backup (the bad body is then a 400, not a 403)
    // but not read keys.
    let r = env
        .hsm_call_as(&backup, Method::POST, "/backup", Some(json!({})))
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    let r = env.hsm_call_as(&backup, Method::GET, "/keys", None).await;
    assert_eq!(r.status, 403);

    // notDataActions: a custom role with every key action but delete.
    let role = "6f1c7a52-93a4-4d5e-8f0b-2a7c9d3e4b10";
    let r = env
        .hsm_call_as(
            &admin,
            Method::PUT,
            &format!("{ROLE_DEFINITIONS}/{role}"),
            Some(
                json!({"properties": {"roleName": "no delete", "permissions": [{
                    "dataActions": ["Microsoft.KeyVault/managedHsm/keys/*"],
                    "notDataActions": ["Microsoft.KeyVault/managedHsm/keys/delete"],
                }]}}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let custom = jwt("custom-oid");
    assign(&env, &admin, 4, "/keys/k1", role, "custom-oid").await;
    let r = env
        .hsm_call_as(&custom, Method::GET, "/keys/k1", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = env
        .hsm_call_as(&custom, Method::DELETE, "/keys/k1", None)
        .await;
    assert_eq!((r.status, r.code()), (403, "ForbiddenByRbac"));
    // Scope: the assignment on /keys/k1 does not reach /keys/k2.
    let r = env
        .hsm_call_as(
            &custom,
            Method::POST,
            "/keys/k2/create",
            Some(json!({"kty": "oct"})),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = env
        .hsm_call_as(
            &custom,
            Method::POST,
            "/keys/k1/create",
            Some(json!({"kty": "oct"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Removing the assignment removes the access.
    let r = env
        .hsm_call_as(
            &admin,
            Method::DELETE,
            "/keys/providers/Microsoft.Authorization/roleAssignments/00000000-0000-0000-0000-000000000001",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = env.hsm_call_as(&user, Method::GET, "/keys/k1", None).await;
    assert_eq!(r.status, 403);
    env.emu.shutdown().await;
}

/// The role assignments collection under `scope` (`""` for `/`).
fn assignments(scope: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments")
}

/// The role definitions collection under `scope` (`""` for `/`).
fn definitions(scope: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleDefinitions")
}

/// Every Managed HSM data action, each as a request that would change or
/// read something were it allowed: `(route pattern, method, path, body)`.
/// The patterns are the emulator's route table's (checked against it by
/// the test), or `rbac` for the role routes, asked at `/` and at `/keys`.
fn every_action(
    job: &str,
    version: &str,
    custom_role: &str,
) -> Vec<(&'static str, Method, String, Option<serde_json::Value>)> {
    let storage = json!({"storageResourceUri": "https://127.0.0.1:9/backups", "token": "sv=1&sig=stranger-sas"});
    let restore = json!({"sasTokenParameters": storage, "folderToRestore": "mhsm-emulator-2024"});
    let setting = "/settings/AllowKeyManagementOperationsThroughARM";
    let preview = "api-version=7.6-preview.2";
    let mut all = vec![
        (
            "/backup/{id}/pending",
            Method::GET,
            format!("/backup/{job}/pending"),
            None,
        ),
        (
            "/restore/{id}/pending",
            Method::GET,
            format!("/restore/{job}/pending"),
            None,
        ),
        ("/settings/", Method::GET, "/settings".to_owned(), None),
        ("/settings/{setting}", Method::GET, setting.to_owned(), None),
        (
            "/settings/{setting}",
            Method::PATCH,
            setting.to_owned(),
            Some(json!({"value": "true"})),
        ),
        (
            "/backup",
            Method::POST,
            "/backup".to_owned(),
            Some(storage.clone()),
        ),
        (
            "/prebackup",
            Method::POST,
            format!("/prebackup?{preview}"),
            Some(storage.clone()),
        ),
        (
            "/restore",
            Method::PUT,
            "/restore".to_owned(),
            Some(restore.clone()),
        ),
        (
            "/prerestore",
            Method::PUT,
            format!("/prerestore?{preview}"),
            Some(restore.clone()),
        ),
        ("/keys/", Method::GET, "/keys".to_owned(), None),
        (
            "/keys/{name}/create",
            Method::POST,
            "/keys/k3/create".to_owned(),
            Some(json!({"kty": "oct"})),
        ),
        (
            "/keys/{name}/restore",
            Method::PUT,
            "/keys/k1/restore".to_owned(),
            Some(restore),
        ),
        (
            "/keys/{name}/versions",
            Method::GET,
            "/keys/k1/versions".to_owned(),
            None,
        ),
        ("/keys/{name}", Method::GET, "/keys/k1".to_owned(), None),
        (
            "/keys/{name}",
            Method::PATCH,
            "/keys/k1".to_owned(),
            Some(json!({"attributes": {"enabled": false}})),
        ),
        ("/keys/{name}", Method::DELETE, "/keys/k1".to_owned(), None),
        (
            "/keys/{name}/{version}",
            Method::GET,
            format!("/keys/k1/{version}"),
            None,
        ),
        (
            "/keys/{name}/{version}",
            Method::PATCH,
            format!("/keys/k1/{version}"),
            Some(json!({"attributes": {"enabled": false}})),
        ),
        (
            "/deletedkeys/",
            Method::GET,
            "/deletedkeys".to_owned(),
            None,
        ),
        (
            "/deletedkeys/{name}",
            Method::GET,
            "/deletedkeys/k2".to_owned(),
            None,
        ),
        (
            "/deletedkeys/{name}",
            Method::DELETE,
            "/deletedkeys/k2".to_owned(),
            None,
        ),
        (
            "/deletedkeys/{name}/recover",
            Method::POST,
            "/deletedkeys/k2/recover".to_owned(),
            None,
        ),
        // The same key, its name percent-encoded.
        (
            "/keys/{name}",
            Method::DELETE,
            "/keys/%6B1".to_owned(),
            None,
        ),
    ];
    let grant = |principal: &str| json!({"properties": {"roleDefinitionId": format!("{DEF}{ADMINISTRATOR}"), "principalId": principal}});
    let role = json!({"properties": {"roleName": "mine", "permissions": [{"dataActions": ["Microsoft.KeyVault/managedHsm/*"]}]}});
    for scope in ["", "/keys"] {
        let new = "00000000-0000-0000-0000-0000000000aa";
        let collections = [
            (definitions(scope), custom_role, role.clone()),
            (assignments(scope), EXISTING, grant(USER_OBJECT)),
        ];
        for (collection, existing, body) in collections {
            all.extend([
                ("rbac", Method::GET, collection.clone(), None),
                (
                    "rbac",
                    Method::GET,
                    format!("{collection}/{existing}"),
                    None,
                ),
                (
                    "rbac",
                    Method::PUT,
                    format!("{collection}/{new}"),
                    Some(body),
                ),
                (
                    "rbac",
                    Method::DELETE,
                    format!("{collection}/{existing}"),
                    None,
                ),
            ]);
        }
    }
    // The emulator's export holds every key: not for a stranger either.
    all.push(("export", Method::GET, "/_emulator/export".to_owned(), None));
    all
}

const ADMINISTRATOR: &str = "a290e904-7015-4bba-90c8-60543313cdb4";
const USER_CLIENT: &str = "0c1e0000-0000-4000-8000-0000000000c1";
const USER_OBJECT: &str = "0b1e0000-0000-4000-8000-0000000000b1";
/// The assignment that makes the administrator a Crypto User.
const EXISTING: &str = "00000000-0000-0000-0000-000000000077";

/// `(method, pattern)` of every route of the HSM's route table, read from
/// its source.
fn route_table() -> Vec<(String, String)> {
    let source = include_str!("../../src/hsm/mod.rs");
    let table = source
        .split("const ROUTES")
        .nth(1)
        .expect("the route table");
    let table = table.split("];").next().unwrap();
    table
        .lines()
        .filter_map(|l| {
            let mut quoted = l.trim().strip_prefix("(\"")?.split('"');
            let method = quoted.next()?.to_owned();
            let pattern = quoted.nth(1)?.to_owned();
            Some((method, pattern))
        })
        .collect()
}

// Prints the figure RELIABILITY.md quotes.
#[allow(clippy::print_stdout)]
#[tokio::test]
async fn a_principal_without_assignment_is_refused_every_data_action_and_changes_nothing() {
    use keyvault_emulator::SYSTEM_OBJECT_ID;

    use crate::identity::app_service_token;

    let env = start_with(
        Emulator::builder()
            .auth(AuthMode::Strict)
            .rbac(RbacMode::Enforce)
            .hsm_admin(SYSTEM_OBJECT_ID)
            .user_assigned_identity(USER_CLIENT, USER_OBJECT),
    )
    .await;
    let resource = "resource=https://managedhsm.azure.net";
    let (_, admin) = app_service_token(&env, resource).await;
    let admin = admin["access_token"].as_str().unwrap().to_owned();
    let (_, stranger) =
        app_service_token(&env, &format!("{resource}&client_id={USER_CLIENT}")).await;
    let stranger = stranger["access_token"].as_str().unwrap().to_owned();

    // Something to refuse: keys (one deleted), a custom role, an
    // assignment, a setting, a backup job.
    let r = env
        .hsm_call_as(
            &admin,
            Method::PUT,
            &format!("{}/{EXISTING}", assignments("")),
            Some(json!({"properties": {"roleDefinitionId": format!("{DEF}{CRYPTO_USER}"), "principalId": SYSTEM_OBJECT_ID}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    for k in ["k1", "k2"] {
        let r = env
            .hsm_call_as(
                &admin,
                Method::POST,
                &format!("/keys/{k}/create"),
                Some(json!({"kty": "oct"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let key = env.hsm_call_as(&admin, Method::GET, "/keys/k1", None).await;
    let kid = key.json["key"]["kid"].as_str().unwrap_or_default();
    let version = kid.rsplit('/').next().unwrap_or_default().to_owned();
    let r = env
        .hsm_call_as(&admin, Method::DELETE, "/keys/k2", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let custom_role = "6f1c7a52-93a4-4d5e-8f0b-2a7c9d3e4b11";
    let r = env
        .hsm_call_as(
            &admin,
            Method::PUT,
            &format!("{ROLE_DEFINITIONS}/{custom_role}"),
            Some(json!({"properties": {"roleName": "readers", "permissions": [{"dataActions": ["Microsoft.KeyVault/managedHsm/keys/read/action"]}]}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = env
        .hsm_call_as(&admin, Method::POST, "/backup", Some(json!({"storageResourceUri": "https://127.0.0.1:9/backups", "token": "sv=1&sig=admin-sas"})))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let job = r.json["jobId"].as_str().unwrap().to_owned();
    let state = async || {
        let r = env
            .hsm_call_as(&admin, Method::GET, "/_emulator/export", None)
            .await;
        assert_eq!(r.status, 200, "the administrator may export: {}", r.text);
        r.json
    };
    let before = state().await;
    let hsm = before["hsms"].as_object().and_then(|h| h.values().next());
    let keys = hsm.and_then(|h| h["keys"].as_array()).map(Vec::len);
    assert_eq!(keys, Some(2), "{before}");

    let actions = every_action(&job, &version, custom_role);
    // Every route of the emulator's table is asked.
    for (method, pattern) in route_table() {
        assert!(
            actions
                .iter()
                .any(|(p, m, _, _)| *p == pattern && m.as_str() == method),
            "{method} {pattern} is not checked"
        );
    }
    for (_, method, path, body) in &actions {
        let r = env
            .hsm_call_as(&stranger, method.clone(), path, body.clone())
            .await;
        assert_eq!(
            (r.status, r.code()),
            (403, "ForbiddenByRbac"),
            "{method} {path}: {}",
            r.text
        );
        assert!(
            r.text.contains(USER_OBJECT),
            "the refusal names the caller: {}",
            r.text
        );
    }
    assert_eq!(state().await, before, "a refused request changed something");
    let r = env
        .hsm_call_as(&admin, Method::GET, &format!("/backup/{job}/pending"), None)
        .await;
    assert_eq!(r.status, 200, "the job is still there: {}", r.text);
    println!(
        "security: {} requests of a principal without assignment ({} routes of the table, {} role routes, the export) refused with 403 ForbiddenByRbac; state unchanged",
        actions.len(),
        route_table().len(),
        actions.iter().filter(|a| a.0 == "rbac").count()
    );
    env.emu.shutdown().await;
}
