//! The administration clients honour the per-call part of their methods'
//! options: with a call timeout of zero, each call fails as a timeout
//! before reaching the emulator, which serves the same calls without it.

use std::time::Duration;

use futures::TryStreamExt;
use keyvault_administration::{
    ErrorKind, KeyVaultRoleScope, KeyVaultSetting, ListOptions, RequestOptions,
    SetRoleDefinitionOptions,
};

use crate::common::start;

#[tokio::test]
async fn settings_and_access_control_honour_the_per_call_timeout() {
    let env = start().await;
    let settings = env.settings();
    let access = env.access();
    let arm = "AllowKeyManagementOperationsThroughARM";
    for (timeout, expired) in [(Duration::ZERO, true), (Duration::from_secs(30), false)] {
        let call = RequestOptions::default().timeout(timeout);
        let list = ListOptions {
            request_options: call.clone(),
            ..Default::default()
        };
        let define = SetRoleDefinitionOptions {
            request_options: call.clone(),
            ..Default::default()
        };
        let results = [
            settings.list_settings(Some(call.clone())).await.map(drop),
            settings
                .get_setting(arm, Some(call.clone()))
                .await
                .map(drop),
            settings
                .update_setting(&KeyVaultSetting::boolean(arm, false), Some(call.clone()))
                .await
                .map(drop),
            access
                .list_role_definitions(KeyVaultRoleScope::Global, Some(list))
                .try_collect::<Vec<_>>()
                .await
                .map(drop),
            access
                .set_role_definition(KeyVaultRoleScope::Global, Some(define))
                .await
                .map(drop),
        ];
        for (i, result) in results.into_iter().enumerate() {
            match (expired, result) {
                (true, Err(e)) => assert_eq!(e.kind(), ErrorKind::Timeout, "call {i}: {e}"),
                (false, Ok(())) => {}
                (_, other) => panic!("call {i} with a timeout of {timeout:?}: {other:?}"),
            }
        }
    }
}
