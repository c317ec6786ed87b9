//! An HTTPS proxy in front of the endpoints (`CONNECT` only), so that apps
//! reach the emulator by Azure host names: with `HTTPS_PROXY` pointing here,
//! `https://<name>.vault.azure.net` is the vault named `<name>` and
//! `https://<name>.managedhsm.azure.net` the Managed HSM named `<name>` (an
//! emulator that was given no names serves its one vault and HSM under any
//! name), with no DNS or hosts-file change. Every Azure SDK's default check of the 401
//! challenge (the vault host must be a subdomain of the challenge's resource,
//! `https://vault.azure.net`) then passes as it does against Azure.
//!
//! Tunnels to loopback addresses (the identity endpoint, a local Azurite)
//! are let through too, for clients on this machine only, so one
//! `HTTPS_PROXY` serves a whole test. Any other target is refused: this is
//! not an open proxy, and a client from another machine (with `--host
//! 0.0.0.0`) reaches nothing but the two endpoints.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, lookup_host};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::server::Bound;

/// The most a `CONNECT` request's head may take.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its `CONNECT` request.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to the target may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most tunnels open at once; more connections are refused.
const MAX_TUNNELS: usize = 1024;

/// The domains whose hosts the proxy sends to the vault and HSM endpoints.
pub(crate) const VAULT_DOMAIN: &str = "vault.azure.net";
/// See [`VAULT_DOMAIN`].
pub(crate) const HSM_DOMAIN: &str = "managedhsm.azure.net";

/// Where tunnels to the hosts of one domain go.
#[derive(Debug, Clone, Default)]
pub(crate) struct Named {
    /// The endpoints by lower-case name (the host's first label).
    pub(crate) by_name: Vec<(String, SocketAddr)>,
    /// Where every other name goes, if anywhere (an emulator whose vault
    /// or HSM was not named answers under any name).
    pub(crate) any: Option<SocketAddr>,
}

impl Named {
    fn get(&self, name: &str) -> Option<SocketAddr> {
        (self.by_name.iter().find(|(n, _)| n == name))
            .map(|(_, addr)| *addr)
            .or(self.any)
    }
}

/// Where tunnels go: the vault and HSM endpoints by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Targets {
    pub(crate) vaults: Named,
    pub(crate) hsms: Named,
}

impl Targets {
    /// The address a tunnel to `host:port` goes to; `None` for a host the
    /// proxy does not serve. Loopback targets are served only to `local`
    /// clients.
    fn resolve(&self, host: &str, port: u16, local: bool) -> Option<SocketAddr> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let under = |domain: &str| {
            (host.strip_suffix(domain))
                .and_then(|name| name.strip_suffix('.'))
                .filter(|name| !name.is_empty())
        };
        if let Some(name) = under(VAULT_DOMAIN) {
            return self.vaults.get(name).map(reachable);
        }
        if let Some(name) = under(HSM_DOMAIN) {
            return self.hsms.get(name).map(reachable);
        }
        let loopback = match host.as_str() {
            "localhost" => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            other => other.parse::<IpAddr>().ok().filter(IpAddr::is_loopback),
        };
        loopback
            .filter(|_| local)
            .map(|ip| SocketAddr::new(ip, port))
    }
}

/// A listener's address as a client reaches it (a wildcard bind is reached
/// on loopback).
fn reachable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
    } else {
        addr
    }
}

/// Serves tunnels on `bound` until `shutdown` turns true; open tunnels are
/// closed then.
pub(crate) async fn serve(
    bound: Bound,
    targets: Arc<Targets>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (conn_tx, mut conn_rx) = tokio::sync::mpsc::channel(64);
    let mut accepting = JoinSet::new();
    for listener in bound.listeners {
        let conn_tx = conn_tx.clone();
        accepting.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        if conn_tx.send(stream).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "proxy accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
    }
    drop(conn_tx);
    let mut tunnels = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(stream) = conn_rx.recv() => {
                while tunnels.try_join_next().is_some() {}
                if tunnels.len() >= MAX_TUNNELS {
                    tracing::warn!("too many proxy tunnels; a connection is refused");
                    tunnels.spawn(refuse(stream, "503 Service Unavailable"));
                    continue;
                }
                tunnels.spawn(tunnel(stream, targets.clone()));
            }
            else => break,
        }
    }
    accepting.abort_all();
    tunnels.abort_all();
}

async fn refuse(mut stream: TcpStream, status: &'static str) {
    let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads a request head: the bytes up to and including the blank line, and
/// what came after it.
async fn read_head(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Some((String::from_utf8(buf).ok()?, rest));
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// `host` and `port` of a `CONNECT host:port HTTP/1.x` request line.
fn parse_connect(line: &str) -> Result<(&str, u16), &'static str> {
    let mut parts = line.split(' ');
    let (Some(method), Some(authority), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("400 Bad Request");
    };
    if !version.starts_with("HTTP/1.") {
        return Err("400 Bad Request");
    }
    if method != "CONNECT" {
        return Err("405 Method Not Allowed");
    }
    let (host, port) = authority.rsplit_once(':').ok_or("400 Bad Request")?;
    let port = port.parse().map_err(|_| "400 Bad Request")?;
    if host.is_empty() {
        return Err("400 Bad Request");
    }
    Ok((host, port))
}

async fn tunnel(mut client: TcpStream, targets: Arc<Targets>) {
    let Ok(Some((head, early))) = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut client)).await
    else {
        return refuse(client, "400 Bad Request").await;
    };
    let line = head.lines().next().unwrap_or("");
    let (host, port) = match parse_connect(line) {
        Ok(target) => target,
        Err(status) => return refuse(client, status).await,
    };
    let local = client.peer_addr().is_ok_and(|a| a.ip().is_loopback());
    let Some(target) = targets.resolve(host, port, local) else {
        tracing::info!(
            host,
            port,
            "proxy refused a tunnel to a host it does not serve"
        );
        return refuse(client, "403 Forbidden").await;
    };
    let connect = async {
        let addrs: Vec<SocketAddr> = lookup_host(target).await.ok()?.collect();
        for addr in addrs {
            if let Ok(stream) = TcpStream::connect(addr).await {
                return Some(stream);
            }
        }
        None
    };
    let Ok(Some(mut upstream)) = tokio::time::timeout(CONNECT_TIMEOUT, connect).await else {
        return refuse(client, "502 Bad Gateway").await;
    };
    tracing::debug!(host, port, %target, "proxy tunnel");
    let established = b"HTTP/1.1 200 Connection Established\r\n\r\n";
    if client.write_all(established).await.is_err()
        || (!early.is_empty() && upstream.write_all(&early).await.is_err())
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets() -> Targets {
        Targets {
            vaults: Named {
                by_name: Vec::new(),
                any: Some("127.0.0.1:8443".parse().unwrap()),
            },
            hsms: Named {
                by_name: Vec::new(),
                any: Some("0.0.0.0:8444".parse().unwrap()),
            },
        }
    }

    #[test]
    fn named_endpoints_answer_only_under_their_names() {
        let addr = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
        let t = Targets {
            vaults: Named {
                by_name: vec![("billing".into(), addr(1)), ("orders".into(), addr(2))],
                any: None,
            },
            hsms: Named {
                by_name: vec![("keys".into(), addr(3))],
                any: None,
            },
        };
        assert_eq!(
            t.resolve("billing.vault.azure.net", 443, false),
            Some(addr(1))
        );
        assert_eq!(
            t.resolve("Orders.vault.azure.net", 443, false),
            Some(addr(2))
        );
        assert_eq!(
            t.resolve("keys.managedhsm.azure.net", 443, false),
            Some(addr(3))
        );
        for other in [
            "other.vault.azure.net",
            "keys.vault.azure.net",
            "billing.managedhsm.azure.net",
        ] {
            assert_eq!(t.resolve(other, 443, true), None, "{other}");
        }
    }

    #[test]
    fn azure_hosts_go_to_their_endpoint_and_others_are_refused() {
        let t = targets();
        let vault = Some("127.0.0.1:8443".parse().unwrap());
        assert_eq!(t.resolve("myvault.vault.azure.net", 443, false), vault);
        assert_eq!(t.resolve("MyVault.Vault.Azure.Net.", 443, false), vault);
        let hsm = Some("127.0.0.1:8444".parse().unwrap());
        assert_eq!(t.resolve("myhsm.managedhsm.azure.net", 443, false), hsm);
        assert_eq!(
            t.resolve("localhost", 10000, true),
            Some("127.0.0.1:10000".parse().unwrap())
        );
        assert_eq!(
            t.resolve("[::1]", 8443, true),
            Some("[::1]:8443".parse().unwrap())
        );
        for other in [
            "vault.azure.net",
            "evilvault.azure.net",
            "myvault.vault.azure.net.example.com",
            "example.com",
            "10.0.0.1",
        ] {
            assert_eq!(t.resolve(other, 443, true), None, "{other}");
        }
        // Loopback is for local clients only.
        for local in ["localhost", "127.0.0.1"] {
            assert_eq!(t.resolve(local, 10000, false), None, "{local}");
        }
    }

    #[test]
    fn only_connect_requests_are_served() {
        assert_eq!(
            parse_connect("CONNECT myvault.vault.azure.net:443 HTTP/1.1"),
            Ok(("myvault.vault.azure.net", 443))
        );
        assert_eq!(
            parse_connect("CONNECT [::1]:8443 HTTP/1.1"),
            Ok(("[::1]", 8443))
        );
        assert_eq!(
            parse_connect("GET http://example.com/ HTTP/1.1"),
            Err("405 Method Not Allowed")
        );
        for bad in [
            "CONNECT host HTTP/1.1",
            "CONNECT :443 HTTP/1.1",
            "CONNECT a:b HTTP/1.1",
            "",
            "CONNECT a:1",
        ] {
            assert_eq!(parse_connect(bad), Err("400 Bad Request"), "{bad:?}");
        }
    }
}
