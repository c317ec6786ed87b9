//! Helpers shared by the integration tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use keyvault_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};
use reqwest::Method;
use serde_json::{Value, json};

/// The API version tests use unless they say otherwise.
pub const API: &str = "7.6";

/// A running emulator and a client that trusts it.
pub struct Env {
    pub emu: EmulatorHandle,
    pub client: reqwest::Client,
    /// The vault URL without its trailing slash.
    pub base: String,
    /// The HSM URL without its trailing slash.
    pub hsm: String,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Resp {
    /// The `error.code` of an error body.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

/// A reqwest client that trusts `ca_pem` and nothing else.
pub use keyvault_testing::tls::client_trusting as client_for;

/// Starts an emulator with the library defaults.
pub async fn start() -> Env {
    start_with(Emulator::builder()).await
}

/// Starts an emulator from `builder`.
pub async fn start_with(builder: EmulatorBuilder) -> Env {
    let emu = builder.start().await.expect("emulator starts");
    let client = client_for(emu.ca_cert_pem());
    let base = emu.vault_url().trim_end_matches('/').to_owned();
    let hsm = emu.hsm_url().trim_end_matches('/').to_owned();
    Env {
        emu,
        client,
        base,
        hsm,
    }
}

/// Sends a request to `url` with a bearer token.
pub async fn send_to(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> Resp {
    let mut req = client.request(method, url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.expect("request is answered");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        json,
        text,
    }
}

impl Env {
    /// `path` relative to the vault, with `api-version=7.6` added unless the
    /// path already has one.
    pub fn url(&self, path: &str) -> String {
        with_api(&self.base, path)
    }

    /// An authenticated request.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        send_to(&self.client, method, &self.url(path), body, Some("test")).await
    }

    /// `path` relative to the HSM, with `api-version=7.6` added unless the
    /// path already has one.
    pub fn hsm_url(&self, path: &str) -> String {
        with_api(&self.hsm, path)
    }

    /// An authenticated request to the HSM.
    pub async fn hsm_call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        send_to(
            &self.client,
            method,
            &self.hsm_url(path),
            body,
            Some("test"),
        )
        .await
    }

    /// An authenticated GET from the HSM.
    pub async fn hsm_get(&self, path: &str) -> Resp {
        self.hsm_call(Method::GET, path, None).await
    }

    /// An authenticated DELETE on the HSM.
    pub async fn hsm_delete(&self, path: &str) -> Resp {
        self.hsm_call(Method::DELETE, path, None).await
    }

    /// Creates an HSM key of type `kty` (the answer is not checked).
    pub async fn create_key(&self, name: &str, kty: &str) -> Resp {
        let path = format!("/keys/{name}/create");
        self.hsm_call(Method::POST, &path, Some(json!({ "kty": kty })))
            .await
    }

    /// PUTs a role assignment `name` at `scope` (`""` for `/`) of the role
    /// with GUID `role` to `principal` (the answer is not checked).
    pub async fn put_assignment(
        &self,
        scope: &str,
        name: &str,
        role: &str,
        principal: &str,
    ) -> Resp {
        let body = json!({"properties": {"roleDefinitionId": definition_id(role), "principalId": principal}});
        self.hsm_call(
            Method::PUT,
            &format!("{scope}{ROLE_ASSIGNMENTS}/{name}"),
            Some(body),
        )
        .await
    }

    /// An authenticated DELETE on the vault.
    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }

    /// Restores a secret from a backup blob (the answer is not checked).
    pub async fn restore_secret(&self, blob: &str) -> Resp {
        let body = json!({ "value": blob });
        self.call(Method::POST, "/secrets/restore", Some(body))
            .await
    }

    /// An authenticated GET from the vault.
    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    /// A request to the HSM with the bearer token `token`.
    pub async fn hsm_call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Resp {
        send_to(&self.client, method, &self.hsm_url(path), body, Some(token)).await
    }

    /// Sets a secret and returns the response body (asserting 200).
    pub async fn set(&self, name: &str, body: Value) -> Value {
        let r = self
            .call(Method::PUT, &format!("/secrets/{name}"), Some(body))
            .await;
        assert_eq!(r.status, 200, "set {name}: {}", r.text);
        r.json
    }

    /// Follows `nextLink`s from `path`, returning every item.
    pub async fn list_all(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut url = self.url(path);
        loop {
            let r = send_to(&self.client, Method::GET, &url, None, Some("test")).await;
            assert_eq!(r.status, 200, "{url}: {}", r.text);
            out.extend(r.json["value"].as_array().expect("value").iter().cloned());
            match r.json["nextLink"].as_str() {
                Some(next) => url = next.to_owned(),
                None => return out,
            }
        }
    }
}

/// The role definitions collection at `/`.
pub const ROLE_DEFINITIONS: &str = "/providers/Microsoft.Authorization/roleDefinitions";
/// The role assignments collection at `/`.
pub const ROLE_ASSIGNMENTS: &str = "/providers/Microsoft.Authorization/roleAssignments";

/// A role definition's `roleDefinitionId`.
pub fn definition_id(guid: &str) -> String {
    format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

/// `base` + `path`, with `api-version=7.6` added unless present.
pub fn with_api(base: &str, path: &str) -> String {
    if path.contains("api-version=") {
        format!("{base}{path}")
    } else if path.contains('?') {
        format!("{base}{path}&api-version={API}")
    } else {
        format!("{base}{path}?api-version={API}")
    }
}

/// An unsigned JWT whose payload carries `oid`.
pub fn jwt(oid: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(
            serde_json::json!({"oid": oid, "aud": "https://managedhsm.azure.net"}).to_string()
        )
    )
}

/// The name part of an item's id (`.../secrets/{name}[/{version}]`).
pub fn id_name(id: &Value) -> String {
    let id = id.as_str().expect("id");
    let rest = id.split("/secrets/").nth(1).expect("secrets id");
    rest.split('/').next().unwrap_or_default().to_owned()
}

/// The emulator binary, running; killed on drop so a failing test leaves
/// nothing behind.
pub struct Spawned {
    pub child: Child,
    /// Its first line on stdout.
    pub info: Value,
}

impl Spawned {
    /// The vault URL, without its trailing slash.
    pub fn vault(&self) -> String {
        self.url("vault_url")
    }

    /// The HSM URL, without its trailing slash.
    pub fn hsm(&self) -> String {
        self.url("hsm_url")
    }

    fn url(&self, key: &str) -> String {
        let url = self.info[key].as_str().expect("a URL in the first line");
        url.trim_end_matches('/').to_owned()
    }

    /// SIGKILL, and waits until the process is gone.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the killed process is reaped");
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the emulator binary on ports 0 (stderr discarded unless
/// `configure` says otherwise), with the arguments `configure` adds, and
/// reads its first line.
pub fn spawn_binary(configure: impl FnOnce(&mut Command)) -> Spawned {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyvault-emulator"));
    command
        .args(["--vault-port", "0", "--hsm-port", "0", "--proxy-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    configure(&mut command);
    let mut child = command.spawn().expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("first line");
    let info: Value = serde_json::from_str(&line).expect("first line is JSON");
    Spawned { child, info }
}
