//! `KeyVaultSettingsClient` against the emulator's Managed HSM.

use keyvault_administration::{ErrorKind, KeyVaultSetting, KeyVaultSettingType};

use crate::common::start;

const ARM: &str = "AllowKeyManagementOperationsThroughARM";

#[tokio::test]
async fn list_get_and_update() {
    let env = start().await;
    let client = env.settings();

    let all = client.list_settings(None).await.expect("list");
    let arm = all.iter().find(|s| s.name == ARM).expect("the ARM setting");
    assert_eq!(arm.setting_type, Some(KeyVaultSettingType::Boolean));
    assert!(!arm.as_bool().unwrap(), "off by default");

    let got = client.get_setting(ARM, None).await.expect("get");
    assert_eq!(&got, arm);

    let on = client
        .update_setting(&KeyVaultSetting::boolean(ARM, true), None)
        .await
        .expect("update");
    assert_eq!(on.value, "true");
    assert!(on.as_bool().unwrap());
    assert!(
        client
            .get_setting(ARM, None)
            .await
            .unwrap()
            .as_bool()
            .unwrap()
    );

    let mut back = on.clone();
    back.value = "false".into();
    let off = client
        .update_setting(&back, None)
        .await
        .expect("update back");
    assert!(!off.as_bool().unwrap());
}

#[tokio::test]
async fn unknown_settings_and_bad_values_are_errors() {
    let env = start().await;
    let client = env.settings();
    let e = client.get_setting("NoSuchSetting", None).await.unwrap_err();
    assert!(e.status().is_some_and(|s| s.is_client_error()), "{e}");
    let e = client
        .update_setting(&KeyVaultSetting::new(ARM, "maybe", None), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Http, "{e}");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400), "{e}");
    let e = client.get_setting("", None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}
