//! Create a custom role, assign it, read both back, then remove them.
//!
//! `cargo run --example access_control_operations` (against the embedded
//! emulator unless `AZURE_MANAGEDHSM_URL` names a Managed HSM; the role is
//! assigned to the object id in `AZURE_PRINCIPAL_ID`, or to a made-up one).

#![allow(clippy::print_stdout)]

use examples::{BoxError, Target};
use futures::TryStreamExt;
use keyvault_administration::{
    KeyVaultAccessControlClient, KeyVaultDataAction, KeyVaultPermission, KeyVaultRoleScope,
    SetRoleDefinitionOptions,
};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::hsm_from_env().await?;
    println!("{}", target.describe());
    run(&target.access_control_client()?).await?;
    target.shutdown().await;
    Ok(())
}

/// The example itself.
pub async fn run(client: &KeyVaultAccessControlClient) -> Result<(), BoxError> {
    let roles: Vec<_> = client
        .list_role_definitions(KeyVaultRoleScope::Global, None)
        .try_collect()
        .await?;
    println!("{} role definitions, among them:", roles.len());
    for role in roles.iter().take(3) {
        println!(
            "  {} ({:?})",
            role.role_name.as_deref().unwrap_or("?"),
            role.role_type
        );
    }

    // A custom role that may read and sign with keys, but not export them.
    let options = SetRoleDefinitionOptions {
        role_name: Some("example key signer".into()),
        description: Some("reads keys and signs with them".into()),
        permissions: vec![KeyVaultPermission {
            data_actions: Some(vec![
                KeyVaultDataAction::ReadHsmKey,
                KeyVaultDataAction::SignHsmKey,
            ]),
            not_data_actions: Some(vec![KeyVaultDataAction::ExportHsmKey]),
            ..Default::default()
        }],
        ..Default::default()
    };
    let role = client
        .set_role_definition(KeyVaultRoleScope::Global, Some(options))
        .await?;
    println!("Created role definition {} ({})", role.name, role.id);

    // Update it: same name, a new description.
    let update = SetRoleDefinitionOptions {
        name: Some(role.name.clone()),
        role_name: role.role_name.clone(),
        description: Some("reads keys, signs with them, never exports".into()),
        permissions: role.permissions.clone(),
        ..Default::default()
    };
    client
        .set_role_definition(KeyVaultRoleScope::Global, Some(update))
        .await?;
    let role = client
        .get_role_definition(KeyVaultRoleScope::Global, &role.name, None)
        .await?;
    println!(
        "Its description is now {:?}",
        role.description.as_deref().unwrap_or("")
    );

    // Assign it to a principal, for every key of the HSM.
    let principal = std::env::var("AZURE_PRINCIPAL_ID")
        .unwrap_or_else(|_| "00000000-0000-0000-0000-00000000e5a1".into());
    let assignment = client
        .create_role_assignment(KeyVaultRoleScope::Keys, &role.id, &principal, None)
        .await?;
    println!("Assigned it to {principal} as {}", assignment.name);
    let fetched = client
        .get_role_assignment(KeyVaultRoleScope::Keys, &assignment.name, None)
        .await?;
    println!("Read back: scope {:?}", fetched.properties.scope);
    let assignments: Vec<_> = client
        .list_role_assignments(KeyVaultRoleScope::Keys, None)
        .try_collect()
        .await?;
    println!("{} role assignments at /keys", assignments.len());

    // Clean up: the assignment first, then the role.
    client
        .delete_role_assignment(KeyVaultRoleScope::Keys, &assignment.name, None)
        .await?;
    client
        .delete_role_definition(KeyVaultRoleScope::Global, &role.name, None)
        .await?;
    println!("Deleted the role assignment and the role definition");
    Ok(())
}
