//! The models as users build, compare and (with the `serde` feature, which
//! these tests enable) serialize them.

use std::sync::Arc;

use futures::TryStreamExt;
use keyvault_administration::{
    AdministrationClientOptions, ClientOptions, ErrorKind, KeyVaultAccessControlClient,
    KeyVaultBackupResult, KeyVaultDataAction, KeyVaultPermission, KeyVaultRoleAssignment,
    KeyVaultRoleAssignmentProperties, KeyVaultRoleDefinition, KeyVaultRoleScope, KeyVaultRoleType,
};
use keyvault_testing::replay::{Exchange, MANAGED_HSM, Order, ReplayServer};

use crate::common::{StaticToken, start};

/// Round-trips `value` through JSON.
fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
    serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
}

#[test]
fn built_models_compare_by_every_field() {
    let id = "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/d1";
    let role = KeyVaultRoleDefinition::new(id)
        .with_role_name("reader")
        .with_role_type(KeyVaultRoleType::CustomRole)
        .with_permissions([KeyVaultPermission {
            data_actions: Some(vec![KeyVaultDataAction::ReadHsmKey]),
            ..Default::default()
        }])
        .with_assignable_scopes([KeyVaultRoleScope::Global]);
    assert_eq!((role.id.as_str(), role.name.as_str()), (id, "d1"));
    assert_eq!(role.description, None);
    assert_eq!(role.clone(), role);
    assert_ne!(role.clone().with_description("x"), role);
    assert_eq!(round_trip(&role), role);

    let assignment = KeyVaultRoleAssignment::new(
        "/providers/Microsoft.Authorization/roleAssignments/a1",
        KeyVaultRoleAssignmentProperties::default()
            .with_principal_id("p1")
            .with_role_definition_id(role.id.clone())
            .with_scope(KeyVaultRoleScope::key("k")),
    );
    assert_eq!(assignment.name, "a1");
    assert_eq!(
        assignment.properties.scope.as_ref().map(|s| s.as_str()),
        Some("/keys/k")
    );
    assert_ne!(assignment.clone().with_name("a2"), assignment);
    assert_eq!(round_trip(&assignment), assignment);

    let backup = KeyVaultBackupResult::new("https://a.blob.core.windows.net/c/mhsm-1");
    assert_eq!(backup, KeyVaultBackupResult::new(backup.folder_url.clone()));
    assert_eq!(
        serde_json::to_value(&backup).unwrap(),
        serde_json::json!({"folder_url": "https://a.blob.core.windows.net/c/mhsm-1"})
    );
}

#[tokio::test]
async fn what_the_emulator_answers_can_be_built_and_round_trips() {
    let env = start().await;
    let client = env.access();
    let roles: Vec<KeyVaultRoleDefinition> = client
        .list_role_definitions(KeyVaultRoleScope::Global, None)
        .try_collect()
        .await
        .unwrap();
    assert!(!roles.is_empty());
    for role in &roles {
        assert_eq!(&round_trip(role), role);
    }
    let role = &roles[0];
    let created = client
        .create_role_assignment(KeyVaultRoleScope::Keys, &role.id, "principal-1", None)
        .await
        .unwrap();
    assert_eq!(round_trip(&created), created);
    // A fake built with the public constructors equals the real answer.
    let mut fake = KeyVaultRoleAssignment::new(
        created.id.clone(),
        KeyVaultRoleAssignmentProperties::default()
            .with_principal_id("principal-1")
            .with_role_definition_id(role.id.clone())
            .with_scope(KeyVaultRoleScope::Keys),
    );
    if let Some(t) = &created.resource_type {
        fake = fake.with_resource_type(t.clone());
    }
    assert_eq!(fake, created);

    let settings = env.settings().list_settings(None).await.unwrap();
    assert!(!settings.is_empty());
    for s in &settings {
        assert_eq!(&round_trip(s), s);
    }
}

#[tokio::test]
async fn an_answer_without_an_id_is_an_error_not_an_empty_string() {
    let script = vec![
        Exchange::scripted(
            "GET",
            "/providers/Microsoft.Authorization/roleDefinitions",
            200,
            r#"{"value":[{"name":"d1","properties":{"roleName":"x"}}]}"#,
        ),
        Exchange::scripted(
            "GET",
            "/keys/providers/Microsoft.Authorization/roleAssignments/a1",
            200,
            r#"{"id":"/providers/Microsoft.Authorization/roleAssignments/a1","properties":{}}"#,
        ),
    ];
    let server = ReplayServer::start_with(script, Order::Matching, MANAGED_HSM).await;
    let options = AdministrationClientOptions {
        client_options: ClientOptions {
            allow_loopback_http: true,
            verify_challenge_resource: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let credential = Arc::new(StaticToken::default());
    let client =
        KeyVaultAccessControlClient::new(server.base(), credential, Some(options)).unwrap();
    let err = client
        .list_role_definitions(KeyVaultRoleScope::Global, None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Deserialize, "{err}");
    assert!(err.to_string().contains("role definition"), "{err}");
    let err = client
        .get_role_assignment(KeyVaultRoleScope::Keys, "a1", None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Deserialize, "{err}");
    assert!(server.unexpected().is_empty(), "{:?}", server.unexpected());
}

#[test]
fn the_crate_names_its_version() {
    assert_eq!(keyvault_administration::VERSION, env!("CARGO_PKG_VERSION"));
}
