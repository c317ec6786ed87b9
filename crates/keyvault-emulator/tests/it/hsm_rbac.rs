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
