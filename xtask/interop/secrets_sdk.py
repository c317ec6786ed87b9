"""Interop scenario: the official Python secrets SDK against the emulator.

Configured by the environment only, as an unchanged app would be:
KEYVAULT_URL (the vault's Azure host name), HTTPS_PROXY (the emulator's
proxy), REQUESTS_CA_BUNDLE (its CA) and IDENTITY_ENDPOINT / IDENTITY_HEADER
(its managed identity endpoint). DefaultAzureCredential and default client
options; challenge verification stays on.
"""

import os
import sys

from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient


def main() -> int:
    client = SecretClient(os.environ["KEYVAULT_URL"], DefaultAzureCredential())
    name = "interop-python"
    first = client.set_secret(name, "v1", content_type="text/plain")
    second = client.set_secret(name, "v2")
    assert first.properties.version != second.properties.version
    assert client.get_secret(name).value == "v2"
    assert client.get_secret(name, first.properties.version).value == "v1"
    assert first.id.startswith(os.environ["KEYVAULT_URL"].rstrip("/") + "/secrets/"), first.id
    updated = client.update_secret_properties(name, tags={"k": "v"})
    assert updated.tags == {"k": "v"}
    versions = list(client.list_properties_of_secret_versions(name))
    assert len(versions) == 2, versions
    assert name in [p.name for p in client.list_properties_of_secrets()]
    backup = client.backup_secret(name)
    deleted = client.begin_delete_secret(name).result()
    assert deleted.name == name
    assert client.get_deleted_secret(name).name == name
    client.begin_recover_deleted_secret(name).result()
    assert client.get_secret(name).value == "v2"
    client.begin_delete_secret(name).result()
    client.purge_deleted_secret(name)
    restored = client.restore_secret_backup(backup)
    assert restored.name == name
    print("python secrets: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
