//! [`KeyVaultSettingsClient`]: the account settings of a Managed HSM.

pub(crate) mod models;

use keyvault_core::{Result, client::ClientCore};

use crate::{
    ApiVersion, KeyVaultSetting, RequestOptions, endpoint::check_name, generated::settings as wire,
};

/// A client for the account settings of one Managed HSM.
///
/// Cheap to clone (an `Arc` inside) and `Send + Sync`.
///
/// ```no_run
/// use std::sync::Arc;
/// use keyvault_administration::{KeyVaultSetting, KeyVaultSettingsClient, TokenCredential};
///
/// # async fn demo(credential: Arc<dyn TokenCredential>) -> keyvault_administration::Result<()> {
/// let client = KeyVaultSettingsClient::new("https://myhsm.managedhsm.azure.net", credential, None)?;
/// for setting in client.list_settings(None).await? {
///     println!("{} = {}", setting.name, setting.value);
/// }
/// let name = "AllowKeyManagementOperationsThroughARM";
/// let updated = client.update_setting(&KeyVaultSetting::boolean(name, true), None).await?;
/// assert!(updated.as_bool()?);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct KeyVaultSettingsClient {
    core: ClientCore<ApiVersion>,
}

impl KeyVaultSettingsClient {
    crate::endpoint::hsm_client!(KeyVaultSettingsClient, "settings");

    /// Lists every account setting with its value. The service returns them
    /// in one response.
    ///
    /// # Errors
    /// The service's errors, for example `403`.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_administration::KeyVaultSettingsClient) -> keyvault_administration::Result<()> {
    /// let settings = client.list_settings(None).await?;
    /// println!("{} settings", settings.len());
    /// # Ok(()) }
    /// ```
    pub async fn list_settings(
        &self,
        options: Option<RequestOptions>,
    ) -> Result<Vec<KeyVaultSetting>> {
        let core = self.core.with_request_options(options);
        let request = wire::get_settings_request(core.endpoint());
        let response = core.send(wire::GET_SETTINGS, request).await?;
        let list = wire::get_settings_response(&response)?;
        Ok(list
            .settings
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Gets one account setting.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an
    /// empty name; the service's errors, for example `404` for a setting it
    /// does not know.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_administration::KeyVaultSettingsClient) -> keyvault_administration::Result<()> {
    /// let setting = client.get_setting("AllowKeyManagementOperationsThroughARM", None).await?;
    /// println!("{}: {}", setting.name, setting.as_bool()?);
    /// # Ok(()) }
    /// ```
    pub async fn get_setting(
        &self,
        name: &str,
        options: Option<RequestOptions>,
    ) -> Result<KeyVaultSetting> {
        let core = self.core.with_request_options(options);
        check_name("setting", name)?;
        let request = wire::get_setting_request(core.endpoint(), name);
        let response = core.send(wire::GET_SETTING, request).await?;
        wire::get_setting_response(&response).map(Into::into)
    }

    /// Changes the value of a setting to `setting.value` and returns the
    /// setting as it now is.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an
    /// empty name; the service's errors, for example `400` for a value the
    /// setting's type does not allow.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_administration::KeyVaultSetting;
    /// # async fn demo(client: keyvault_administration::KeyVaultSettingsClient) -> keyvault_administration::Result<()> {
    /// let mut setting = client.get_setting("AllowKeyManagementOperationsThroughARM", None).await?;
    /// setting.value = "true".into();
    /// let updated = client.update_setting(&setting, None).await?;
    /// assert_eq!(updated.value, "true");
    /// # Ok(()) }
    /// ```
    pub async fn update_setting(
        &self,
        setting: &KeyVaultSetting,
        options: Option<RequestOptions>,
    ) -> Result<KeyVaultSetting> {
        let core = self.core.with_request_options(options);
        check_name("setting", &setting.name)?;
        let body = wire::UpdateSettingRequest {
            value: setting.value.clone(),
        };
        let request = wire::update_setting_request(core.endpoint(), &setting.name, &body);
        let response = core.send(wire::UPDATE_SETTING, request).await?;
        wire::update_setting_response(&response).map(Into::into)
    }
}
