//! `KeyVaultAccessControlClient` against the emulator's Managed HSM.

use futures::TryStreamExt;
use keyvault_administration::{
    CreateRoleAssignmentOptions, ErrorKind, KeyVaultAccessControlClient, KeyVaultDataAction,
    KeyVaultPermission, KeyVaultRoleDefinition, KeyVaultRoleScope, KeyVaultRoleType, ListOptions,
    SetRoleDefinitionOptions,
};

use crate::common::{StaticToken, start, start_enforcing};

const CRYPTO_USER: &str = "Managed HSM Crypto User";

async fn definitions(
    client: &KeyVaultAccessControlClient,
    scope: KeyVaultRoleScope,
) -> Vec<KeyVaultRoleDefinition> {
    client
        .list_role_definitions(scope, None)
        .try_collect()
        .await
        .expect("list role definitions")
}

#[tokio::test]
async fn built_in_roles_are_listed_with_typed_fields() {
    let env = start().await;
    let client = env.access();
    let roles = definitions(&client, KeyVaultRoleScope::Global).await;
    let user = roles
        .iter()
        .find(|r| r.role_name.as_deref() == Some(CRYPTO_USER))
        .expect("the crypto user role");
    assert_eq!(user.role_type, Some(KeyVaultRoleType::BuiltInRole));
    assert_eq!(user.id.name(), user.name);
    assert!(user.id.as_str().ends_with(&user.name));
    assert_eq!(
        user.resource_type.as_deref(),
        Some("Microsoft.Authorization/roleDefinitions")
    );
    let actions = user.permissions[0].data_actions.clone().unwrap_or_default();
    assert!(
        actions.contains(&KeyVaultDataAction::ReadHsmKey),
        "{actions:?}"
    );
    // Actions newer than the spec's enum (such as `keys/rotate/action`)
    // are kept as sent.
    for a in &actions {
        assert!(
            a.as_str().starts_with("Microsoft.KeyVault/managedHsm/"),
            "{a:?}"
        );
        assert_eq!(&KeyVaultDataAction::from(a.as_str()), a);
    }
    assert!(user.assignable_scopes.contains(&KeyVaultRoleScope::Global));

    // Pages and items agree.
    let mut pages = client
        .list_role_definitions(KeyVaultRoleScope::Global, None)
        .into_pages();
    let mut count = 0;
    while let Some(page) = pages.try_next().await.unwrap() {
        count += page.items.len();
    }
    assert_eq!(count, roles.len());
}

#[tokio::test]
async fn custom_role_definition_lifecycle() {
    let env = start().await;
    let client = env.access();
    let options = SetRoleDefinitionOptions {
        role_name: Some("key reader".into()),
        description: Some("reads keys".into()),
        permissions: vec![KeyVaultPermission {
            data_actions: Some(vec![KeyVaultDataAction::ReadHsmKey]),
            ..Default::default()
        }],
        assignable_scopes: Some(vec![KeyVaultRoleScope::Global]),
        ..Default::default()
    };
    let created = client
        .set_role_definition(KeyVaultRoleScope::Global, Some(options))
        .await
        .expect("create");
    // A new GUID name was made up.
    assert!(
        uuid::Uuid::parse_str(&created.name).is_ok(),
        "{}",
        created.name
    );
    assert_eq!(created.role_type, Some(KeyVaultRoleType::CustomRole));
    assert_eq!(created.role_name.as_deref(), Some("key reader"));
    assert_eq!(created.description.as_deref(), Some("reads keys"));

    // Update under the same name.
    let update = SetRoleDefinitionOptions {
        name: Some(created.name.clone()),
        role_name: Some("key reader".into()),
        permissions: vec![KeyVaultPermission {
            data_actions: Some(vec![]),
            not_data_actions: Some(vec![KeyVaultDataAction::ReadHsmKey]),
            ..Default::default()
        }],
        ..Default::default()
    };
    let updated = client
        .set_role_definition(KeyVaultRoleScope::Global, Some(update))
        .await
        .expect("update");
    assert_eq!(updated.name, created.name);
    assert_eq!(
        updated.permissions[0].not_data_actions.as_deref(),
        Some(&[KeyVaultDataAction::ReadHsmKey][..])
    );

    let got = client
        .get_role_definition(KeyVaultRoleScope::Global, &created.name, None)
        .await
        .expect("get");
    assert_eq!(got, updated);
    assert!(
        definitions(&client, KeyVaultRoleScope::Global)
            .await
            .iter()
            .any(|d| d.name == created.name)
    );

    client
        .delete_role_definition(KeyVaultRoleScope::Global, &created.name, None)
        .await
        .expect("delete");
    let gone = client
        .get_role_definition(KeyVaultRoleScope::Global, &created.name, None)
        .await
        .unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    // Deleting what does not exist is not an error, as in Python.
    client
        .delete_role_definition(KeyVaultRoleScope::Global, &created.name, None)
        .await
        .expect("a second delete is quiet");
    assert!(
        !definitions(&client, KeyVaultRoleScope::Global)
            .await
            .iter()
            .any(|d| d.name == created.name)
    );
}

#[tokio::test]
async fn role_assignment_lifecycle() {
    let env = start().await;
    let client = env.access();
    let roles = definitions(&client, KeyVaultRoleScope::Global).await;
    let user = roles
        .iter()
        .find(|r| r.role_name.as_deref() == Some(CRYPTO_USER))
        .unwrap();
    let name = uuid::Uuid::new_v4().to_string();
    let created = client
        .create_role_assignment(
            KeyVaultRoleScope::Keys,
            &user.id,
            "principal-1",
            Some(CreateRoleAssignmentOptions {
                name: Some(name.clone()),
                ..Default::default()
            }),
        )
        .await
        .expect("create");
    assert_eq!(created.name, name);
    assert_eq!(created.id.name(), name);
    assert_eq!(
        created.properties.principal_id.as_deref(),
        Some("principal-1")
    );
    assert_eq!(created.properties.scope, Some(KeyVaultRoleScope::Keys));
    assert_eq!(
        created
            .properties
            .role_definition_id
            .as_ref()
            .map(|d| d.name()),
        Some(user.name.as_str())
    );

    // Without a name, a GUID is made up.
    let second = client
        .create_role_assignment(
            KeyVaultRoleScope::Global,
            user.id.as_str(),
            "principal-2",
            None,
        )
        .await
        .expect("create with a generated name");
    assert!(uuid::Uuid::parse_str(&second.name).is_ok());

    let got = client
        .get_role_assignment(KeyVaultRoleScope::Keys, &name, None)
        .await
        .expect("get");
    assert_eq!(got, created);

    let all: Vec<_> = client
        .list_role_assignments(KeyVaultRoleScope::Global, None)
        .try_collect()
        .await
        .expect("list");
    assert!(all.iter().any(|a| a.name == name), "{all:?}");
    assert!(all.iter().any(|a| a.name == second.name));

    let filtered: Vec<_> = client
        .list_role_assignments(
            KeyVaultRoleScope::Global,
            Some(ListOptions {
                filter: Some("principalId eq 'principal-2'".into()),
                ..Default::default()
            }),
        )
        .try_collect()
        .await
        .expect("filtered list");
    assert!(!filtered.is_empty());
    assert!(
        filtered
            .iter()
            .all(|a| a.properties.principal_id.as_deref() == Some("principal-2")),
        "{filtered:?}"
    );

    client
        .delete_role_assignment(KeyVaultRoleScope::Keys, &name, None)
        .await
        .expect("delete");
    let gone = client
        .get_role_assignment(KeyVaultRoleScope::Keys, &name, None)
        .await
        .unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    client
        .delete_role_assignment(KeyVaultRoleScope::Keys, &name, None)
        .await
        .expect("a second delete is quiet");
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let env = start().await;
    let client = env.access();
    let e = client
        .get_role_definition(KeyVaultRoleScope::Global, "", None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = client
        .create_role_assignment(KeyVaultRoleScope::Global, "", "p", None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = client
        .delete_role_assignment(KeyVaultRoleScope::Global, "", None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        env.credential
            .calls
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing was sent"
    );

    // A vault is not a Managed HSM.
    let e = KeyVaultAccessControlClient::new(
        "https://myvault.vault.azure.net",
        env.credential.clone(),
        None,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("not a Managed HSM"), "{e}");
    assert!(KeyVaultAccessControlClient::new("", env.credential.clone(), None).is_err());
    // The emulator's loopback URL is fine, and slashes are trimmed.
    assert_eq!(
        env.access().vault_url(),
        env.emu.hsm_url().trim_end_matches('/')
    );
}

#[tokio::test]
async fn rbac_denial_is_a_typed_error() {
    let env = start_enforcing().await;
    let admin = env.access();
    let stranger = env.access_as(StaticToken::jwt("stranger-oid"));

    let denied = stranger
        .list_role_definitions(KeyVaultRoleScope::Global, None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(denied.is_forbidden(), "{denied}");
    assert_eq!(denied.error_code(), Some("ForbiddenByRbac"));
    assert_eq!(denied.kind(), ErrorKind::Http);

    // The administrator may read and assign; the stranger then may read.
    let roles = definitions(&admin, KeyVaultRoleScope::Global).await;
    let auditor = roles
        .iter()
        .find(|r| r.role_name.as_deref() == Some("Managed HSM Crypto Auditor"))
        .expect("the auditor role");
    admin
        .create_role_assignment(KeyVaultRoleScope::Global, &auditor.id, "stranger-oid", None)
        .await
        .expect("assign");
    let seen = definitions(&stranger, KeyVaultRoleScope::Global).await;
    assert_eq!(seen.len(), roles.len());
    let write = stranger
        .set_role_definition(KeyVaultRoleScope::Global, None)
        .await
        .unwrap_err();
    assert!(write.is_forbidden(), "{write}");
}

#[tokio::test]
async fn every_api_version_is_sent_and_served() {
    use keyvault_administration::ApiVersion;
    let env = start().await;
    let mut versions = ApiVersion::ALL.to_vec();
    versions.push(ApiVersion::Other("7.6-preview.2".into()));
    for v in versions {
        let client = KeyVaultAccessControlClient::new(
            env.emu.hsm_url(),
            env.credential.clone(),
            Some(crate::common::options(&env.emu, v.clone())),
        )
        .unwrap();
        assert_eq!(client.api_version(), &v);
        let roles = definitions(&client, KeyVaultRoleScope::Global).await;
        assert!(!roles.is_empty(), "{v}");
    }
    // A version the service does not know is sent as given, and refused.
    let client = KeyVaultAccessControlClient::new(
        env.emu.hsm_url(),
        env.credential.clone(),
        Some(crate::common::options(
            &env.emu,
            ApiVersion::Other("1.0".into()),
        )),
    )
    .unwrap();
    let e = client
        .list_role_definitions(KeyVaultRoleScope::Global, None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400), "{e}");
}
