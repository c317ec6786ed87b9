"""The Python SDK's driver of the clients benchmark.

`python driver.py SCENARIO COUNT VAULT_URL` does what the Rust drivers do
with azure-keyvault-secrets (its default `requests` transport, reaching the
vault through `HTTPS_PROXY` and trusting its CA through
`REQUESTS_CA_BUNDLE`) and prints `cpu_us wall_us peak_rss_kb` (for `cold`,
`cpu_us first_secret_unix_us peak_rss_kb`), as the Rust drivers do.
"""

import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from azure.core.credentials import AccessToken
from azure.keyvault.secrets import SecretClient

TOKEN = "bench-static-token"
SECRET_NAME = "bench"
IN_FLIGHT = 32


class StaticToken:
    """A credential that always returns the same token."""

    def get_token(self, *scopes, **kwargs):
        return AccessToken(TOKEN, int(time.time()) + 3600)


def cpu_us():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int((usage.ru_utime + usage.ru_stime) * 1e6)


def peak_rss_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def get(client):
    if not client.get_secret(SECRET_NAME).value:
        raise RuntimeError("the secret had no value")


def client_of(vault):
    # Its challenge check compares the host with its port against the
    # resource's domain, which a vault on a port of its own never passes;
    # the check happens once, so turning it off changes no figure.
    return SecretClient(vault, StaticToken(), verify_challenge_resource=False)


def main():
    scenario, count, vault = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    client = client_of(vault)
    # The first request pays for the connection, TLS and the challenge.
    get(client)
    if scenario == "cold":
        cpu, at = cpu_us(), time.time() * 1e6
        get(client_of(vault))
        print(f"{cpu} {at:.0f} {peak_rss_kb()}")
        return
    cpu0, wall0 = cpu_us(), time.perf_counter()
    if scenario == "seq":
        for _ in range(count):
            get(client)
    elif scenario == "par32":
        lock, left = threading.Lock(), [count]

        def worker():
            while True:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
                get(client)

        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            for f in [pool.submit(worker) for _ in range(IN_FLIGHT)]:
                f.result()
    elif scenario == "list":
        listed = sum(1 for p in client.list_properties_of_secrets() if p.id)
        if listed != count:
            raise RuntimeError(f"listed {listed} secrets, expected {count}")
    else:
        raise RuntimeError(f"unknown scenario {scenario}")
    cpu, wall = cpu_us() - cpu0, time.perf_counter() - wall0
    print(f"{cpu} {int(wall * 1e6)} {peak_rss_kb()}")


if __name__ == "__main__":
    main()
