//! List the account settings of a Managed HSM, then flip a boolean one and
//! set it back.
//!
//! `cargo run --example settings_operations` (against the embedded emulator
//! unless `AZURE_MANAGEDHSM_URL` names a Managed HSM).

#![allow(clippy::print_stdout)]

use examples::{BoxError, Target};
use keyvault_administration::{KeyVaultSetting, KeyVaultSettingType, KeyVaultSettingsClient};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::hsm_from_env().await?;
    println!("{}", target.describe());
    run(&target.settings_client()?).await?;
    target.shutdown().await;
    Ok(())
}

/// The example itself.
pub async fn run(client: &KeyVaultSettingsClient) -> Result<(), BoxError> {
    let settings = client.list_settings(None).await?;
    for s in &settings {
        println!("{} = {} ({:?})", s.name, s.value, s.setting_type);
    }

    // Flip the first boolean setting, then put it back.
    let Some(first) = settings
        .iter()
        .find(|s| s.setting_type == Some(KeyVaultSettingType::Boolean))
    else {
        println!("No boolean setting to change");
        return Ok(());
    };
    let setting = client.get_setting(&first.name, None).await?;
    let was = setting.as_bool()?;
    let flipped = client
        .update_setting(&KeyVaultSetting::boolean(&setting.name, !was), None)
        .await?;
    println!("{} is now {}", flipped.name, flipped.as_bool()?);
    let back = client.update_setting(&setting, None).await?;
    println!("{} is back to {}", back.name, back.as_bool()?);
    Ok(())
}
