//! Secret ids (with their versions), role scopes and backup folder URLs.
#![no_main]

use keyvault_administration::KeyVaultRoleScope;
use keyvault_secrets::KeyVaultSecretIdentifier;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(id) = KeyVaultSecretIdentifier::parse(text) {
        assert_eq!(id.source_id(), text);
        assert!(id.name().len() <= text.len());
        assert!(!id.name().is_empty());
    }
    let scope = KeyVaultRoleScope::from(text);
    assert_eq!(scope.as_str(), text);
    if let Some((container, folder)) = keyvault_administration::fuzzing::folder_url(text) {
        assert!(!folder.is_empty());
        assert!(keyvault_administration::fuzzing::container_url(&container).is_some());
    }
});
