// Interop scenario: the official JavaScript secrets SDK against the emulator,
// configured by the environment only (KEYVAULT_URL, HTTPS_PROXY,
// NODE_EXTRA_CA_CERTS, IDENTITY_ENDPOINT, IDENTITY_HEADER): DefaultAzureCredential
// and default client options, challenge verification on.
import assert from "node:assert/strict";
import { DefaultAzureCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";

const url = process.env.KEYVAULT_URL;
const client = new SecretClient(url, new DefaultAzureCredential());
const name = "interop-js";
const first = await client.setSecret(name, "v1");
await client.setSecret(name, "v2");
assert.equal((await client.getSecret(name)).value, "v2");
assert.equal((await client.getSecret(name, { version: first.properties.version })).value, "v1");
assert.ok(first.properties.id.startsWith(url.replace(/\/$/, "") + "/secrets/"), first.properties.id);
const names = [];
for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
assert.ok(names.includes(name), names.join(","));
const poller = await client.beginDeleteSecret(name, { updateIntervalInMs: 50 });
await poller.pollUntilDone();
assert.equal((await client.getDeletedSecret(name)).name, name);
const recover = await client.beginRecoverDeletedSecret(name, { updateIntervalInMs: 50 });
await recover.pollUntilDone();
assert.equal((await client.getSecret(name)).value, "v2");
console.log("javascript secrets: ok");
