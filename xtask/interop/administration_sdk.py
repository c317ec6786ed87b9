"""Interop scenario: the official Python administration SDK against the
emulator's Managed HSM, configured by the environment only (HSM_URL,
HTTPS_PROXY, REQUESTS_CA_BUNDLE, IDENTITY_ENDPOINT, IDENTITY_HEADER;
BLOB_CONTAINER_URL with BLOB_SAS_TOKEN for a backup with a SAS token, and
BLOB_IDENTITY_CONTAINER_URL, in an Azurite that accepts bearer tokens, for a
backup with the HSM's managed identity): DefaultAzureCredential and default
client options.
"""

import os
import sys
import uuid

from azure.identity import DefaultAzureCredential
from azure.keyvault.administration import (
    KeyVaultAccessControlClient,
    KeyVaultBackupClient,
    KeyVaultDataAction,
    KeyVaultPermission,
    KeyVaultRoleScope,
    KeyVaultSettingsClient,
)


def main() -> int:
    url = os.environ["HSM_URL"]
    credential = DefaultAzureCredential()
    access = KeyVaultAccessControlClient(url, credential)
    roles = list(access.list_role_definitions(KeyVaultRoleScope.GLOBAL))
    crypto_user = next(r for r in roles if r.role_name == "Managed HSM Crypto User")
    custom = access.set_role_definition(
        KeyVaultRoleScope.GLOBAL,
        role_name="interop reader",
        permissions=[KeyVaultPermission(data_actions=[KeyVaultDataAction.READ_HSM_KEY])],
    )
    assert access.get_role_definition(KeyVaultRoleScope.GLOBAL, custom.name).role_name == "interop reader"
    principal = str(uuid.uuid4())
    assignment = access.create_role_assignment(KeyVaultRoleScope.KEYS, crypto_user.id, principal)
    fetched = access.get_role_assignment(KeyVaultRoleScope.KEYS, assignment.name)
    assert fetched.properties.principal_id == principal
    assert assignment.name in [a.name for a in access.list_role_assignments(KeyVaultRoleScope.KEYS)]
    access.delete_role_assignment(KeyVaultRoleScope.KEYS, assignment.name)
    access.delete_role_definition(KeyVaultRoleScope.GLOBAL, custom.name)

    settings = KeyVaultSettingsClient(url, credential)
    names = [s.name for s in settings.list_settings()]
    assert "AllowKeyManagementOperationsThroughARM" in names, names
    setting = settings.get_setting("AllowKeyManagementOperationsThroughARM")
    setting.value = "true"
    updated = settings.update_setting(setting)
    assert updated.value == "true" or updated.value is True, updated.value
    backup = KeyVaultBackupClient(url, credential)
    container, sas = os.environ["BLOB_CONTAINER_URL"], os.environ["BLOB_SAS_TOKEN"]
    # No polling_interval here: this SDK passes it on to requests, the
    # poller's thread fails with a TypeError that azure-core's wait() takes
    # for "no error", and result() returns the first answer's (empty) body.
    poller = backup.begin_backup(container, sas_token=sas)
    result = poller.result()
    assert poller.status() == "Succeeded", poller.status()
    assert result.folder_url.startswith(container + "/"), result.folder_url
    backup.begin_restore(result.folder_url, sas_token=sas).result()

    identity_container = os.environ["BLOB_IDENTITY_CONTAINER_URL"]
    poller = backup.begin_backup(identity_container, use_managed_identity=True)
    result = poller.result()
    assert poller.status() == "Succeeded", poller.status()
    assert result.folder_url.startswith(identity_container + "/"), result.folder_url
    restore = backup.begin_restore(result.folder_url, use_managed_identity=True)
    restore.result()
    assert restore.status() == "Succeeded", restore.status()
    print("python administration: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
