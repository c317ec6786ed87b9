"""Drive a running keyvault-emulator's Managed HSM endpoint with the official
Python SDKs: access control, settings, keys, full backup, full restore and
selective key restore into Azurite.

Usage: python check_hsm_sdk.py HSM_URL CA_CERT AZURITE_BLOB_URL
  HSM_URL           the "hsm_url" of the emulator's first line
  CA_CERT           the "ca_cert" of the emulator's first line
  AZURITE_BLOB_URL  e.g. http://127.0.0.1:10000/devstoreaccount1
Needs: pip install azure-keyvault-administration azure-keyvault-keys azure-identity
Not run in CI.
"""

import base64
import hashlib
import hmac
import sys
import time
import urllib.parse
import urllib.request
import uuid

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.administration import (
    KeyVaultAccessControlClient,
    KeyVaultBackupClient,
    KeyVaultDataAction,
    KeyVaultPermission,
    KeyVaultRoleScope,
    KeyVaultSetting,
    KeyVaultSettingsClient,
)
from azure.keyvault.keys import KeyClient

# Azurite's well-known development account (public, local use only).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class FakeCredential:
    """Any bearer token will do for the emulator's default auth mode."""

    def get_token(self, *scopes, **kwargs):
        return AccessToken("fake", int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None):
        return AccessTokenInfo("fake", int(time.time()) + 3600)


def account_sas(permissions="rwdlac"):
    sv, ss, srt, se, spr = "2019-12-12", "b", "sco", "2099-01-01T00:00:00Z", "https,http"
    to_sign = f"{ACCOUNT}\n{permissions}\n{ss}\n{srt}\n\n{se}\n\n{spr}\n{sv}\n"
    sig = base64.b64encode(
        hmac.new(base64.b64decode(ACCOUNT_KEY), to_sign.encode(), hashlib.sha256).digest()
    ).decode()
    q = urllib.parse.quote
    return f"sv={sv}&ss={ss}&srt={srt}&sp={permissions}&se={q(se)}&spr={q(spr)}&sig={q(sig, safe='')}"


def create_container(url, sas):
    req = urllib.request.Request(
        f"{url}?restype=container&{sas}", method="PUT", headers={"x-ms-version": "2021-08-06"}
    )
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 201, resp.status


def main(hsm_url, ca_cert, blob_url):
    common = dict(verify_challenge_resource=False, connection_verify=ca_cert)
    cred = FakeCredential()
    access = KeyVaultAccessControlClient(hsm_url, cred, **common)
    backup = KeyVaultBackupClient(hsm_url, cred, **common)
    settings = KeyVaultSettingsClient(hsm_url, cred, **common)
    keys = KeyClient(hsm_url, cred, **common)

    # Access control.
    builtins = list(access.list_role_definitions(KeyVaultRoleScope.GLOBAL))
    assert len(builtins) >= 9, builtins
    crypto_user = next(d for d in builtins if d.role_name == "Managed HSM Crypto User")
    assert crypto_user.role_type == "AKVBuiltInRole", crypto_user
    name = uuid.uuid4()
    perms = [KeyVaultPermission(data_actions=[KeyVaultDataAction.READ_HSM_KEY])]
    created = access.set_role_definition(
        KeyVaultRoleScope.GLOBAL, name=name, role_name="py-role", description="d", permissions=perms
    )
    assert created.role_type == "CustomRole" and created.role_name == "py-role", created
    got = access.get_role_definition(KeyVaultRoleScope.GLOBAL, name)
    assert got.permissions[0].data_actions == [KeyVaultDataAction.READ_HSM_KEY], got.permissions
    updated = access.set_role_definition(
        KeyVaultRoleScope.GLOBAL, name=name, permissions=[KeyVaultPermission(not_data_actions=[KeyVaultDataAction.READ_HSM_KEY])]
    )
    assert updated.permissions[0].not_data_actions == [KeyVaultDataAction.READ_HSM_KEY]
    assignment = access.create_role_assignment(KeyVaultRoleScope.KEYS, created.id, "py-principal")
    assert assignment.properties.scope == "/keys", assignment.properties
    assert assignment.role_assignment_id.startswith("/keys/providers/"), assignment.role_assignment_id
    fetched = access.get_role_assignment(KeyVaultRoleScope.KEYS, assignment.name)
    assert fetched.properties.principal_id == "py-principal"
    assert assignment.name in [a.name for a in access.list_role_assignments(KeyVaultRoleScope.KEYS)]
    try:
        access.delete_role_definition(KeyVaultRoleScope.GLOBAL, name)
        raise AssertionError("a role in use must not be deletable")
    except HttpResponseError as e:
        assert e.status_code == 409, e
    access.delete_role_assignment(KeyVaultRoleScope.KEYS, assignment.name)
    access.delete_role_assignment(KeyVaultRoleScope.KEYS, assignment.name)  # 404 is swallowed
    access.delete_role_definition(KeyVaultRoleScope.GLOBAL, name)
    try:
        access.set_role_definition(KeyVaultRoleScope.GLOBAL, name=crypto_user.name, permissions=[])
        raise AssertionError("a built-in role must be immutable")
    except HttpResponseError as e:
        assert e.status_code == 403, e

    # Settings.
    all_settings = list(settings.list_settings())
    assert [s.name for s in all_settings] == ["AllowKeyManagementOperationsThroughARM"], all_settings
    s = settings.update_setting(KeyVaultSetting(name="AllowKeyManagementOperationsThroughARM", value=True))
    assert s.getboolean() is True, s
    assert settings.get_setting("AllowKeyManagementOperationsThroughARM").value == "true"
    settings.update_setting(KeyVaultSetting(name="AllowKeyManagementOperationsThroughARM", value=False))

    # Keys.
    key_name = "py-" + uuid.uuid4().hex[:8]
    rsa = keys.create_rsa_key(key_name, size=2048, hardware_protected=True)
    assert rsa.key_type == "RSA-HSM" and rsa.key.n, rsa
    ec = keys.create_ec_key(key_name + "-ec", curve="P-256", hardware_protected=True)
    assert ec.key.crv == "P-256", ec
    oct_key = keys.create_oct_key(key_name + "-oct", size=256, hardware_protected=True)
    assert oct_key.key_type == "oct-HSM", oct_key
    assert key_name in [k.name for k in keys.list_properties_of_keys()]
    assert keys.get_key(key_name).id == rsa.id

    # Full backup, then selective restore of a purged key, then full restore.
    container = f"{blob_url}/py{uuid.uuid4().hex[:10]}"
    sas = account_sas()
    create_container(container, sas)
    result = backup.begin_backup(container, sas_token=sas, _polling_interval=0.2).result()
    assert result.folder_url.startswith(container + "/mhsm-"), result.folder_url
    keys.begin_delete_key(key_name, _polling_interval=0.2).wait()
    keys.purge_deleted_key(key_name)
    try:
        keys.get_key(key_name)
        raise AssertionError("purged key still there")
    except ResourceNotFoundError:
        pass
    backup.begin_restore(result.folder_url, sas_token=sas, key_name=key_name, _polling_interval=0.2).wait()
    assert keys.get_key(key_name).id == rsa.id
    keys.begin_delete_key(key_name + "-oct", _polling_interval=0.2).wait()
    keys.purge_deleted_key(key_name + "-oct")
    backup.begin_restore(result.folder_url, sas_token=sas, _polling_interval=0.2).wait()
    assert keys.get_key(key_name + "-oct").id == oct_key.id

    # Resuming a poller from its continuation token.
    poller = backup.begin_backup(container, sas_token=sas, _polling_interval=0.2)
    token = poller.continuation_token()
    resumed = backup.begin_backup(container, sas_token=sas, continuation_token=token, _polling_interval=0.2)
    assert resumed.result().folder_url.startswith(container + "/mhsm-")

    # A restore from a missing folder fails.
    try:
        backup.begin_restore(container + "/mhsm-missing-2020", sas_token=sas, _polling_interval=0.2).wait()
        raise AssertionError("restore of a missing folder must fail")
    except HttpResponseError as e:
        assert "BackupNotFound" in str(e), e

    # A bad SAS fails the backup.
    try:
        backup.begin_backup(container, sas_token=sas.replace("sig=", "sig=AAAA"), _polling_interval=0.2).result()
        raise AssertionError("a bad SAS must fail the backup")
    except HttpResponseError:
        pass

    # Pre-backup and pre-restore checks (API 7.6 and later).
    backup.begin_pre_backup(container, sas_token=sas, _polling_interval=0.2).wait()
    backup.begin_pre_restore(result.folder_url, sas_token=sas, _polling_interval=0.2).wait()

    for name_ in [key_name, key_name + "-ec", key_name + "-oct"]:
        keys.begin_delete_key(name_, _polling_interval=0.2).wait()
        keys.purge_deleted_key(name_)
    print("python HSM SDK check: ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3].rstrip("/"))
