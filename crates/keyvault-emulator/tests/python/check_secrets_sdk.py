"""Drive a running keyvault-emulator with the official Python SDK.

Usage: python check_secrets_sdk.py VAULT_URL CA_CERT_PATH
Needs: pip install azure-keyvault-secrets azure-identity
Not run in CI.
"""

import sys
import time
import uuid

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient


class FakeCredential:
    """Any bearer token will do for the emulator's default auth mode."""

    def get_token(self, *scopes, **kwargs):
        return AccessToken("fake", int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None):
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo("fake", int(time.time()) + 3600)


def main(vault_url, ca_cert):
    client = SecretClient(
        vault_url,
        FakeCredential(),
        verify_challenge_resource=False,
        connection_verify=ca_cert,
    )
    name = "py-" + uuid.uuid4().hex[:8]

    created = client.set_secret(name, "v1", tags={"k": "v"}, content_type="text/plain")
    assert created.value == "v1" and created.properties.tags == {"k": "v"}, created
    second = client.set_secret(name, "v2")
    assert client.get_secret(name).value == "v2"
    assert client.get_secret(name, created.properties.version).value == "v1"

    updated = client.update_secret_properties(name, content_type="application/json", enabled=True)
    assert updated.content_type == "application/json", updated

    extra = [f"{name}-page-{i}" for i in range(5)]
    for n in extra:
        client.set_secret(n, "paged")
    names = [p.name for p in client.list_properties_of_secrets(max_page_size=2)]
    assert name in names and all(n in names for n in extra), names
    assert len(names) == len(set(names)), names
    for n in extra:
        client.begin_delete_secret(n, _polling_interval=0.1).wait()
    deleted_names = [d.name for d in client.list_deleted_secrets(max_page_size=2)]
    assert all(n in deleted_names for n in extra), deleted_names
    for n in extra:
        client.purge_deleted_secret(n)
    versions = {p.version for p in client.list_properties_of_secret_versions(name)}
    assert versions == {created.properties.version, second.properties.version}, versions

    backup = client.backup_secret(name)
    assert b"v2" not in backup

    deleted = client.begin_delete_secret(name, _polling_interval=0.1).result()
    assert deleted.recovery_id and deleted.scheduled_purge_date, deleted
    assert name in [d.name for d in client.list_deleted_secrets()]
    try:
        client.set_secret(name, "again")
        raise AssertionError("set on a deleted secret must conflict")
    except (ResourceExistsError, HttpResponseError) as e:
        assert e.status_code == 409, e

    client.begin_recover_deleted_secret(name, _polling_interval=0.1).result()
    assert client.get_secret(name).value == "v2"

    client.begin_delete_secret(name, _polling_interval=0.1).wait()
    client.purge_deleted_secret(name)
    try:
        client.get_deleted_secret(name)
        raise AssertionError("purged secret still there")
    except ResourceNotFoundError:
        pass

    restored = client.restore_secret_backup(backup)
    assert restored.name == name, restored
    assert client.get_secret(name).value == "v2"
    try:
        client.restore_secret_backup(backup)
        raise AssertionError("restore over an existing secret must conflict")
    except (ResourceExistsError, HttpResponseError) as e:
        assert e.status_code == 409, e

    try:
        client.get_secret("missing-" + name)
        raise AssertionError("missing secret found")
    except ResourceNotFoundError:
        pass

    for version in ["2016-10-01", "7.0", "7.3", "7.6", "2025-07-01"]:
        pinned = SecretClient(
            vault_url,
            FakeCredential(),
            verify_challenge_resource=False,
            connection_verify=ca_cert,
            api_version=version,
        )
        assert pinned.get_secret(name).value == "v2", version

    client.begin_delete_secret(name, _polling_interval=0.1).wait()
    client.purge_deleted_secret(name)
    print("python SDK check: ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
