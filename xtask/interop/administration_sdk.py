"""Interop scenario: the official Python administration SDK against the
emulator's Managed HSM, configured by the environment only (HSM_URL,
HTTPS_PROXY, REQUESTS_CA_BUNDLE, IDENTITY_ENDPOINT, IDENTITY_HEADER):
DefaultAzureCredential and default client options.
"""

import os
import sys
import uuid

from azure.identity import DefaultAzureCredential
from azure.keyvault.administration import (
    KeyVaultAccessControlClient,
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
    print("python administration: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
