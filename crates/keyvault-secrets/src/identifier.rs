//! Parsing of secret identifiers such as
//! `https://myvault.vault.azure.net/secrets/my-secret/0123456789abcdef0123456789abcdef`.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use url::Url;

use crate::{Error, ErrorKind};

/// The parts of a secret identifier: the vault URL, the secret's name and,
/// when present, its version.
///
/// Live secrets (`/secrets/{name}[/{version}]`) and deleted secrets
/// (`/deletedsecrets/{name}`) are both accepted, as are the ids of other
/// Key Vault collections with the same shape.
///
/// # Examples
/// ```
/// use keyvault_secrets::KeyVaultSecretIdentifier;
///
/// let id: KeyVaultSecretIdentifier =
///     "https://myvault.vault.azure.net/secrets/db-password/0123456789abcdef0123456789abcdef"
///         .parse()?;
/// assert_eq!(id.vault_url(), "https://myvault.vault.azure.net");
/// assert_eq!(id.name(), "db-password");
/// assert_eq!(id.version(), Some("0123456789abcdef0123456789abcdef"));
///
/// let deleted: KeyVaultSecretIdentifier =
///     "https://myvault.vault.azure.net/deletedsecrets/db-password".parse()?;
/// assert!(deleted.is_deleted());
/// assert_eq!(deleted.version(), None);
///
/// assert!("https://myvault.vault.azure.net/secrets".parse::<KeyVaultSecretIdentifier>().is_err());
/// # Ok::<(), keyvault_secrets::Error>(())
/// ```
#[derive(Clone)]
pub struct KeyVaultSecretIdentifier {
    source_id: String,
    vault_url: Part,
    collection: Part,
    name: Part,
    version: Option<Part>,
}

/// One part of an identifier: where the identifier writes it, or the part
/// itself where it reads otherwise than written (percent-encoded, or
/// rewritten by the URL parser).
#[derive(Clone, Debug)]
enum Part {
    At(Range<usize>),
    Owned(Box<str>),
}

impl Part {
    fn get<'a>(&'a self, source_id: &'a str) -> &'a str {
        match self {
            Self::At(range) => &source_id[range.clone()],
            Self::Owned(part) => part,
        }
    }
}

/// The parts of an identifier, found in its text.
struct Parts {
    vault_url: Part,
    collection: Part,
    name: Part,
    version: Option<Part>,
}

impl PartialEq for KeyVaultSecretIdentifier {
    fn eq(&self, other: &Self) -> bool {
        self.source_id == other.source_id
            && self.vault_url() == other.vault_url()
            && self.collection() == other.collection()
            && self.name() == other.name()
            && self.version() == other.version()
    }
}

impl Eq for KeyVaultSecretIdentifier {}

impl std::hash::Hash for KeyVaultSecretIdentifier {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Equal identifiers have the same source; the parts follow from it.
        self.source_id.hash(state);
    }
}

impl KeyVaultSecretIdentifier {
    /// Parses an identifier.
    ///
    /// # Errors
    /// Fails with [`ErrorKind::InvalidInput`] when `id` is not an absolute URL
    /// with a host, or when its path is not `/{collection}/{name}` or
    /// `/{collection}/{name}/{version}`.
    pub fn parse(id: &str) -> crate::Result<Self> {
        Self::parse_owned(id.to_owned())
    }

    /// [`parse`](Self::parse), keeping `id` as the source without a copy:
    /// what the models do with the ids of the service's answers.
    pub(crate) fn parse_owned(id: String) -> crate::Result<Self> {
        match plain_parts(&id) {
            Some(parts) => Ok(Self::with_parts(id, parts)),
            None => Self::parse_url(&id),
        }
    }

    fn with_parts(source_id: String, parts: Parts) -> Self {
        Self {
            source_id,
            vault_url: parts.vault_url,
            collection: parts.collection,
            name: parts.name,
            version: parts.version,
        }
    }

    /// The parse of any id, through the URL parser.
    fn parse_url(id: &str) -> crate::Result<Self> {
        let invalid = |why: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("'{id}' is not a valid secret identifier: {why}"),
            )
        };
        let url = Url::parse(id).map_err(|_| invalid("it is not an absolute URL"))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("it has no host"))?;
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let (collection, name, version) = match segments.as_slice() {
            [collection, name] => (*collection, *name, None),
            [collection, name, version] => (*collection, *name, Some(*version)),
            _ => {
                return Err(invalid(
                    "its path must be /{collection}/{name} or /{collection}/{name}/{version}",
                ));
            }
        };
        let decode = |s: &str| {
            percent_decode(s)
                .map(|s| Part::Owned(s.into_boxed_str()))
                .ok_or_else(|| invalid("a path segment is not valid UTF-8"))
        };
        // `Url` drops the port when it is the scheme's default; a port written
        // in the id is kept, as the service's ids are compared as written.
        let vault_url = match port_as_written(id, host) {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        };
        let parts = Parts {
            vault_url: Part::Owned(vault_url.into_boxed_str()),
            collection: decode(collection)?,
            name: decode(name)?,
            version: version.map(decode).transpose()?,
        };
        Ok(Self::with_parts(id.to_owned(), parts))
    }

    /// The identifier exactly as it was given.
    pub fn source_id(&self) -> &str {
        &self.source_id
    }

    /// The vault URL: `scheme://host[:port]`, without a trailing slash.
    pub fn vault_url(&self) -> &str {
        self.vault_url.get(&self.source_id)
    }

    /// The collection the id points into: `secrets` or `deletedsecrets`.
    pub fn collection(&self) -> &str {
        self.collection.get(&self.source_id)
    }

    /// Whether the id is a deleted secret's (`/deletedsecrets/{name}`),
    /// for example a [`DeletedSecret::recovery_id`](crate::DeletedSecret::recovery_id).
    pub fn is_deleted(&self) -> bool {
        self.collection().eq_ignore_ascii_case("deletedsecrets")
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        self.name.get(&self.source_id)
    }

    /// The secret's version, when the id names one.
    pub fn version(&self) -> Option<&str> {
        self.version.as_ref().map(|v| v.get(&self.source_id))
    }
}

/// The parts of an id in the shape the service writes them,
/// `https://host[:port]/collection/name[/version]`, found in one pass
/// without the URL parser: the same parts [`KeyVaultSecretIdentifier::parse`]
/// finds through it, at a fraction of the cost (every secret a client
/// returns has one). The host is a domain name the URL parser keeps as
/// written: lower-case labels of letters, digits and dashes, no punycode,
/// and a last label of letters (so that it is not read as an IPv4
/// address); the port, if any, is 1 to 65535 without a leading zero; the
/// path holds only characters the URL parser neither escapes nor reads as
/// the start of a query or fragment. `None` for anything else, which the
/// URL parser then reads.
fn plain_parts(id: &str) -> Option<Parts> {
    const SCHEME: &str = "https://";
    let bytes = id.as_bytes();
    let rest = id.strip_prefix(SCHEME)?.as_bytes();
    let (mut at, mut label_start, mut letters_only) = (0, 0, true);
    let host_end = loop {
        match *rest.get(at)? {
            b'a'..=b'z' => {
                if at == label_start && rest[at..].starts_with(b"xn--") {
                    return None;
                }
            }
            b'0'..=b'9' | b'-' => letters_only = false,
            b'.' if at > label_start => (label_start, letters_only) = (at + 1, true),
            b'/' | b':' if at > label_start && letters_only => break at,
            _ => return None,
        }
        at += 1;
    };
    let mut path_start = SCHEME.len() + host_end;
    if rest[host_end] == b':' {
        let port = &rest[host_end + 1..];
        let digits = port.iter().take_while(|b| b.is_ascii_digit()).count();
        if port.get(digits) != Some(&b'/') || !(1..=5).contains(&digits) || port[0] == b'0' {
            return None;
        }
        if port[..digits]
            .iter()
            .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'))
            > 65_535
        {
            return None;
        }
        path_start += 1 + digits;
    }
    let mut found: [Option<Part>; 3] = [None, None, None];
    let mut count = 0;
    let (mut start, mut escaped) = (path_start, false);
    // Past the end counts as one more `/`, which ends the last segment.
    for at in path_start..=bytes.len() {
        match bytes.get(at).map_or(SLASH, |&b| PATH_BYTES[usize::from(b)]) {
            PLAIN => {}
            PERCENT => escaped = true,
            SLASH => {
                if at > start {
                    *found.get_mut(count)? = Some(segment(id, start..at, escaped)?);
                    count += 1;
                }
                (start, escaped) = (at + 1, false);
            }
            _ => return None,
        }
    }
    let [Some(collection), Some(name), version] = found else {
        return None;
    };
    Some(Parts {
        vault_url: Part::At(0..path_start),
        collection,
        name,
        version,
    })
}

/// A non-empty path segment of `id`, decoded when it holds a `%`; `None`
/// for a dot segment (`.`, `..`, `%2e`: the URL parser resolves them) or
/// one that does not decode to UTF-8.
fn segment(id: &str, range: Range<usize>, escaped: bool) -> Option<Part> {
    let part = if escaped {
        Part::Owned(percent_decode(&id[range])?.into_boxed_str())
    } else {
        Part::At(range)
    };
    let text = part.get(id);
    (text != "." && text != "..").then_some(part)
}

/// What a byte of a plain id's path is: [`PLAIN`] for the characters the
/// URL parser neither escapes nor reads as the start of a query or
/// fragment, [`SLASH`], [`PERCENT`], or anything else (`0`).
const PATH_BYTES: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        if (b as u8).is_ascii_alphanumeric() {
            table[b] = PLAIN;
        }
        b += 1;
    }
    let others = b"-._~!$&'()*+,;=:@";
    let mut i = 0;
    while i < others.len() {
        table[others[i] as usize] = PLAIN;
        i += 1;
    }
    table[b'/' as usize] = SLASH;
    table[b'%' as usize] = PERCENT;
    table
};
const PLAIN: u8 = 1;
const SLASH: u8 = 2;
const PERCENT: u8 = 3;

impl FromStr for KeyVaultSecretIdentifier {
    type Err = Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for KeyVaultSecretIdentifier {
    type Error = Error;

    fn try_from(s: &str) -> crate::Result<Self> {
        Self::parse(s)
    }
}

impl fmt::Display for KeyVaultSecretIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source_id)
    }
}

/// As the identifier was given (with the `serde` feature).
#[cfg(feature = "serde")]
impl serde::Serialize for KeyVaultSecretIdentifier {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source_id)
    }
}

/// Parses a string (with the `serde` feature).
#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for KeyVaultSecretIdentifier {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        Self::parse_owned(id).map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for KeyVaultSecretIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeyVaultSecretIdentifier")
            .field(&self.source_id)
            .finish()
    }
}

/// The port written in `id` right after `host`, if any (including a default
/// port such as `:443`, which `Url` would drop).
fn port_as_written<'a>(id: &'a str, host: &str) -> Option<&'a str> {
    let after_scheme = id.split_once("://")?.1;
    let authority = after_scheme.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let port = authority.strip_prefix(host).or_else(|| {
        // Hosts are lower-cased by the URL parser; compare case-insensitively.
        authority
            .get(..host.len())
            .filter(|h| h.eq_ignore_ascii_case(host))
            .map(|_| &authority[host.len()..])
    })?;
    port.strip_prefix(':').filter(|p| !p.is_empty())
}

/// Decodes `%XX` escapes (and nothing else: `+` stays `+`).
fn percent_decode(segment: &str) -> Option<String> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versioned_id() {
        let id =
            KeyVaultSecretIdentifier::parse("https://v.vault.azure.net/secrets/n/ver").unwrap();
        assert_eq!(id.vault_url(), "https://v.vault.azure.net");
        assert_eq!(id.collection(), "secrets");
        assert_eq!(id.name(), "n");
        assert_eq!(id.version(), Some("ver"));
        assert_eq!(id.to_string(), "https://v.vault.azure.net/secrets/n/ver");
    }

    #[test]
    fn keeps_a_written_default_port_and_has_no_version() {
        let id =
            KeyVaultSecretIdentifier::parse("https://v.vault.azure.net:443/secrets/n").unwrap();
        assert_eq!(id.vault_url(), "https://v.vault.azure.net:443");
        assert_eq!(id.version(), None);
        let id = KeyVaultSecretIdentifier::parse("https://localhost:8443/secrets/n/").unwrap();
        assert_eq!(id.vault_url(), "https://localhost:8443");
        assert_eq!(id.name(), "n");
        assert_eq!(id.version(), None);
    }

    #[test]
    fn accepts_deleted_secret_ids() {
        let id: KeyVaultSecretIdentifier = "https://v.vault.azure.net/deletedsecrets/gone"
            .parse()
            .unwrap();
        assert_eq!(id.collection(), "deletedsecrets");
        assert_eq!(id.name(), "gone");
    }

    #[test]
    fn rejects_bad_ids() {
        for bad in [
            "notaurl",
            "https://v.vault.azure.net/secrets/n/v/extra",
            "https://v.vault.azure.net/secrets",
            "https://v.vault.azure.net/",
            "",
        ] {
            let err = KeyVaultSecretIdentifier::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(
                err.to_string().contains("not a valid secret identifier"),
                "{err}"
            );
        }
    }

    #[test]
    fn decodes_percent_encoded_segments() {
        let id =
            KeyVaultSecretIdentifier::parse("https://v.vault.azure.net/secrets/a%20b+c").unwrap();
        assert_eq!(id.name(), "a b+c");
        // `&` and `=` are ordinary path characters, not query separators.
        let id = KeyVaultSecretIdentifier::parse("https://v.vault.azure.net/secrets/a&b=c/v%2F1")
            .unwrap();
        assert_eq!(id.name(), "a&b=c");
        assert_eq!(id.version(), Some("v/1"));
        // A stray `%` is kept as written.
        let id =
            KeyVaultSecretIdentifier::parse("https://v.vault.azure.net/secrets/100%25%").unwrap();
        assert_eq!(id.name(), "100%%");
    }

    #[test]
    fn the_plain_parse_agrees_with_the_url_parser() {
        let slow = |id: &str| KeyVaultSecretIdentifier::parse_url(id).ok();
        let plain = |id: &str| {
            plain_parts(id).map(|p| KeyVaultSecretIdentifier::with_parts(id.to_owned(), p))
        };
        for id in [
            "https://v.vault.azure.net/secrets/n/0123456789abcdef",
            "https://v.vault.azure.net:8443/secrets/n",
            "https://v.vault.azure.net:443/secrets/n/",
            "https://my-vault.vault.azure.net//secrets//n//v",
            "https://localhost:8443/deletedsecrets/a%20b+c",
            "https://v.vault.azure.net/secrets/a&b=c/v%2F1",
            "https://v.vault.azure.net/secrets/100%25%",
            "https://v.vault.azure.net/secrets/n/v/extra",
            "https://v.vault.azure.net/secrets",
        ] {
            let plain = plain(id);
            assert!(
                plain.is_some() || id.ends_with("extra") || id.ends_with("secrets"),
                "{id} should take the plain path"
            );
            if plain.is_some() {
                assert_eq!(plain, slow(id), "{id}");
            }
        }
        // Shapes the URL parser rewrites are left to it.
        for id in [
            "HTTPS://V.vault.azure.net/secrets/n",
            "https://V.vault.azure.net/secrets/n",
            "https://127.0.0.1/secrets/n",
            "https://v.vault.azure.net:0443/secrets/n",
            "https://v.vault.azure.net:99999/secrets/n",
            "https://xn--bcher-kva.example/secrets/n",
            "https://v.vault.azure.net/secrets/./n",
            "https://v.vault.azure.net/secrets/%2e%2e/n",
            "https://v.vault.azure.net/secrets/a b",
            "https://v.vault.azure.net/secrets/n?x=1",
            "https://user@v.vault.azure.net/secrets/n",
            "https://v.vault.azure.net/secrets/caf\u{e9}",
        ] {
            assert!(plain_parts(id).is_none(), "{id}");
        }
    }

    #[test]
    fn deleted_ids_keep_host_case_insensitive_and_ports() {
        let id = KeyVaultSecretIdentifier::try_from(
            "HTTPS://V.Vault.Azure.NET:8443/deletedsecrets/gone",
        )
        .unwrap();
        assert!(id.is_deleted());
        assert_eq!(id.vault_url(), "https://v.vault.azure.net:8443");
        assert_eq!(id.name(), "gone");
        assert_eq!(id.version(), None);
        let live = KeyVaultSecretIdentifier::parse("https://[::1]:8443/secrets/n/v").unwrap();
        assert!(!live.is_deleted());
        assert_eq!(live.vault_url(), "https://[::1]:8443");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A path segment as a client writes it: any text, percent-encoded.
    fn encoded(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    }

    proptest! {
        #[test]
        fn any_text_parses_without_panicking(id in any::<String>()) {
            if let Ok(parsed) = KeyVaultSecretIdentifier::parse(&id) {
                prop_assert_eq!(parsed.source_id(), id.as_str());
                prop_assert!(parsed.name().len() <= id.len());
            }
        }

        #[test]
        fn url_like_text_parses_without_panicking(
            id in "https?://[a-zA-Z0-9.:@\\[\\]%-]{0,30}(/[a-z%0-9A-F]{0,8}){0,5}[?#]?.{0,8}",
        ) {
            let _ = KeyVaultSecretIdentifier::parse(&id);
        }

        #[test]
        fn the_plain_parse_agrees_with_the_url_parser_on_any_shape(
            id in "https://[a-z0-9.:-]{1,20}(/[a-zA-Z0-9%.~+-]{0,6}){0,4}/?",
        ) {
            if let Some(parts) = plain_parts(&id) {
                let plain = KeyVaultSecretIdentifier::with_parts(id.clone(), parts);
                prop_assert_eq!(Some(plain), KeyVaultSecretIdentifier::parse_url(&id).ok());
            }
        }

        #[test]
        fn a_formatted_id_reads_back(
            // `xn--` starts a punycode label, which must decode.
            host in "[a-z][a-z0-9-]{0,20}\\.vault\\.azure\\.net"
                .prop_filter("a punycode label", |h| !h.starts_with("xn--")),
            port in prop::option::of(1u16..),
            deleted in any::<bool>(),
            // `.` and `..` are dot segments of the URL, never names.
            name in "[^/]{1,40}".prop_filter("a dot segment", |n| n != "." && n != ".."),
            version in prop::option::of("[0-9a-f]{32}"),
        ) {
            let collection = if deleted { "deletedsecrets" } else { "secrets" };
            let vault = match port {
                Some(p) => format!("https://{host}:{p}"),
                None => format!("https://{host}"),
            };
            let mut id = format!("{vault}/{collection}/{}", encoded(&name));
            if let Some(v) = &version {
                id = format!("{id}/{v}");
            }
            let parsed = KeyVaultSecretIdentifier::parse(&id).unwrap();
            let vault_url = if port == Some(443) { format!("https://{host}:443") } else { vault };
            prop_assert_eq!(parsed.vault_url(), vault_url.as_str());
            prop_assert_eq!(parsed.collection(), collection);
            prop_assert_eq!(parsed.is_deleted(), deleted);
            prop_assert_eq!(parsed.name(), name.as_str());
            prop_assert_eq!(parsed.version(), version.as_deref());
            prop_assert_eq!(parsed.source_id(), id.as_str());
        }
    }
}
