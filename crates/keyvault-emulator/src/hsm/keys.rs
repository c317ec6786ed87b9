//! HSM keys, the subset a backup needs: what is stored per key, key
//! generation (RSA with the `rsa` crate, EC P-256/P-384 with ring, random
//! symmetric keys), request validation and the wire shapes (JWK without
//! private parts).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::ServiceError;
use crate::objects::request as model;
use crate::objects::{Attributes, Render, Stored, Versioned};

/// One version of a key. Its `Debug` never shows the private material.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct KeyVersion {
    pub(crate) version: String,
    /// `RSA-HSM`, `EC-HSM` or `oct-HSM`.
    pub(crate) kty: String,
    pub(crate) key_ops: Vec<String>,
    /// Public JWK members (`n`, `e` or `crv`, `x`, `y`), base64url.
    pub(crate) public: BTreeMap<String, String>,
    /// Private material (PKCS#8 DER, or the raw symmetric key), base64.
    pub(crate) private: String,
    #[serde(flatten)]
    pub(crate) attributes: Attributes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tags: Option<BTreeMap<String, String>>,
}

impl std::fmt::Debug for KeyVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyVersion")
            .field("version", &self.version)
            .field("kty", &self.kty)
            .field("private", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A key: its name as first created, its versions, its deletion state.
pub(crate) type StoredKey = Stored<KeyVersion>;

/// What kind of key to make.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Spec {
    Rsa(usize),
    Ec(&'static str),
    Oct(usize),
}

/// A validated create-key body.
#[derive(Debug)]
pub(crate) struct CreateRequest {
    pub(crate) spec: Spec,
    pub(crate) key_ops: Option<Vec<String>>,
    pub(crate) props: model::Properties,
}

const KEY_OPS: &[&str] = &[
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
    "import",
    "export",
];

/// Parses and validates a create-key body.
pub(crate) fn parse_create(body: &[u8]) -> Result<CreateRequest, ServiceError> {
    let m = model::parse_object(body)?;
    let kty = model::required_string(&m, "kty", "a string")?;
    let size = match m.get("key_size") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_u64().ok_or_else(|| {
            ServiceError::bad_parameter("Property 'key_size' must be a positive integer.")
        })?),
        Some(_) => {
            return Err(ServiceError::bad_parameter(
                "Property 'key_size' must be an integer.",
            ));
        }
    };
    let crv = model::opt_string(&m, "crv")?;
    if let Some(e) = m.get("public_exponent")
        && !e.is_null()
        && e.as_u64() != Some(65537)
    {
        return Err(ServiceError::bad_parameter(
            "Only the public exponent 65537 is supported.",
        ));
    }
    let spec = match kty.as_str() {
        "RSA" | "RSA-HSM" => match size.unwrap_or(2048) {
            s @ (2048 | 3072 | 4096) => Spec::Rsa(s as usize),
            s => {
                return Err(ServiceError::bad_parameter(format!(
                    "Invalid key size {s} for RSA: use 2048, 3072 or 4096."
                )));
            }
        },
        "EC" | "EC-HSM" => match crv.as_deref().unwrap_or("P-256") {
            "P-256" => Spec::Ec("P-256"),
            "P-384" => Spec::Ec("P-384"),
            other => {
                return Err(ServiceError::bad_parameter(format!(
                    "The curve '{other}' is not supported by this emulator: use P-256 or P-384."
                )));
            }
        },
        "oct" | "oct-HSM" => match size.unwrap_or(256) {
            s @ (128 | 192 | 256) => Spec::Oct(s as usize),
            s => {
                return Err(ServiceError::bad_parameter(format!(
                    "Invalid key size {s} for oct: use 128, 192 or 256."
                )));
            }
        },
        other => {
            return Err(ServiceError::bad_parameter(format!(
                "The key type '{other}' is not supported: use RSA-HSM, EC-HSM or oct-HSM."
            )));
        }
    };
    let key_ops = match m.get("key_ops") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ops)) => {
            let mut out = Vec::new();
            for op in ops {
                match op.as_str() {
                    Some(o) if KEY_OPS.contains(&o) => out.push(o.to_owned()),
                    _ => {
                        return Err(ServiceError::bad_parameter(format!(
                            "Invalid key operation {op}: use {}.",
                            KEY_OPS.join(", ")
                        )));
                    }
                }
            }
            Some(out)
        }
        Some(_) => {
            return Err(ServiceError::bad_parameter(
                "Property 'key_ops' must be an array of strings.",
            ));
        }
    };
    if let Some(Value::Object(a)) = m.get("attributes")
        && a.get("exportable") == Some(&Value::Bool(true))
    {
        return Err(ServiceError::bad_parameter(
            "Exportable keys need a release policy, which this emulator does not support.",
        ));
    }
    Ok(CreateRequest {
        spec,
        key_ops,
        props: model::parse_properties(&m)?,
    })
}

/// Parses an update-key body (attributes, tags, key_ops).
pub(crate) fn parse_update(
    body: &[u8],
) -> Result<(model::Properties, Option<Vec<String>>), ServiceError> {
    let m = model::parse_object(body)?;
    let ops = match m.get("key_ops") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ops)) => Some(
            ops.iter()
                .map(|o| match o.as_str() {
                    Some(o) if KEY_OPS.contains(&o) => Ok(o.to_owned()),
                    _ => Err(ServiceError::bad_parameter(format!(
                        "Invalid key operation {o}."
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => {
            return Err(ServiceError::bad_parameter(
                "Property 'key_ops' must be an array of strings.",
            ));
        }
    };
    Ok((model::parse_properties(&m)?, ops))
}

/// The generated material: `(kty, default key_ops, public JWK members, private)`.
type Material = (&'static str, Vec<String>, BTreeMap<String, String>, String);

/// Generates key material. RSA generation is CPU-bound (call it off the
/// async runtime).
pub(crate) fn generate(spec: &Spec) -> Result<Material, ServiceError> {
    let failed = || ServiceError::internal("The key could not be generated.");
    match spec {
        Spec::Rsa(bits) => {
            use rsa::pkcs8::EncodePrivateKey;
            let key =
                rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, *bits).map_err(|_| failed())?;
            let der = key.to_pkcs8_der().map_err(|_| failed())?;
            Ok((
                "RSA-HSM",
                default_ops("RSA-HSM"),
                rsa_public(&key),
                STANDARD.encode(der.as_bytes()),
            ))
        }
        Spec::Ec(crv) => {
            use ring::signature::{EcdsaKeyPair, KeyPair};
            let alg = ec_alg(crv);
            let rng = ring::rand::SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(|_| failed())?;
            let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).map_err(|_| failed())?;
            Ok((
                "EC-HSM",
                default_ops("EC-HSM"),
                ec_public(crv, pair.public_key().as_ref()),
                STANDARD.encode(pkcs8.as_ref()),
            ))
        }
        Spec::Oct(bits) => {
            use rand::RngCore;
            let mut raw = vec![0u8; bits / 8];
            rand::rng().fill_bytes(&mut raw);
            Ok((
                "oct-HSM",
                default_ops("oct-HSM"),
                BTreeMap::new(),
                STANDARD.encode(raw),
            ))
        }
    }
}

fn ec_alg(crv: &str) -> &'static ring::signature::EcdsaSigningAlgorithm {
    if crv == "P-256" {
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING
    } else {
        &ring::signature::ECDSA_P384_SHA384_FIXED_SIGNING
    }
}

/// The public JWK members of an RSA key (`n`, `e`).
fn rsa_public(key: &rsa::RsaPrivateKey) -> BTreeMap<String, String> {
    use rsa::traits::PublicKeyParts;
    BTreeMap::from([
        (
            "n".to_owned(),
            URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        ),
        (
            "e".to_owned(),
            URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        ),
    ])
}

/// The public JWK members of an EC key (`crv`, `x`, `y`) from its
/// uncompressed point.
fn ec_public(crv: &str, point: &[u8]) -> BTreeMap<String, String> {
    let n = point.len().saturating_sub(1) / 2;
    BTreeMap::from([
        ("crv".to_owned(), crv.to_owned()),
        ("x".to_owned(), URL_SAFE_NO_PAD.encode(&point[1..1 + n])),
        ("y".to_owned(), URL_SAFE_NO_PAD.encode(&point[1 + n..])),
    ])
}

/// Checks stored key material as [`generate`] makes it (`private`:
/// PKCS#8 DER for `RSA-HSM` and `EC-HSM`, the raw key for `oct-HSM`) and
/// answers its public JWK members, or says what is wrong with it.
pub(crate) fn public_of(kty: &str, private: &[u8]) -> Result<BTreeMap<String, String>, String> {
    match kty {
        "RSA-HSM" => {
            use rsa::pkcs8::DecodePrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::from_pkcs8_der(private)
                .map_err(|_| "not an RSA private key in PKCS#8 DER".to_owned())?;
            match key.n().bits() {
                2048 | 3072 | 4096 => Ok(rsa_public(&key)),
                bits => Err(format!("an RSA key of {bits} bits: use 2048, 3072 or 4096")),
            }
        }
        "EC-HSM" => {
            use ring::signature::{EcdsaKeyPair, KeyPair};
            let rng = ring::rand::SystemRandom::new();
            ["P-256", "P-384"]
                .into_iter()
                .find_map(|crv| {
                    let pair = EcdsaKeyPair::from_pkcs8(ec_alg(crv), private, &rng).ok()?;
                    Some(ec_public(crv, pair.public_key().as_ref()))
                })
                .ok_or_else(|| "not a P-256 or P-384 private key in PKCS#8 DER".to_owned())
        }
        "oct-HSM" => match private.len() {
            16 | 24 | 32 => Ok(BTreeMap::new()),
            n => Err(format!("a symmetric key of {n} bytes: use 16, 24 or 32")),
        },
        other => Err(format!(
            "the key type '{other}' is not supported: use RSA-HSM, EC-HSM or oct-HSM"
        )),
    }
}

/// The operations a new key of type `kty` allows when its request names none.
pub(crate) fn default_ops(kty: &str) -> Vec<String> {
    let ops: &[&str] = match kty {
        "RSA-HSM" => &[
            "wrapKey",
            "decrypt",
            "encrypt",
            "unwrapKey",
            "sign",
            "verify",
        ],
        "EC-HSM" => &["sign", "verify"],
        _ => &["wrapKey", "unwrapKey", "encrypt", "decrypt"],
    };
    ops.iter().map(|s| (*s).to_owned()).collect()
}

/// Whether `op` is a key operation.
pub(crate) fn is_key_op(op: &str) -> bool {
    KEY_OPS.contains(&op)
}

/// The key wire shapes.
impl Versioned for KeyVersion {
    fn id(&self) -> &str {
        &self.version
    }

    /// A KeyBundle: the public JWK, attributes and tags.
    fn bundle(&self, r: &Render<'_>, name: &str) -> Map<String, Value> {
        let mut key = Map::new();
        key.insert(
            "kid".into(),
            json!(format!("{}/keys/{name}/{}", r.base, self.version)),
        );
        key.insert("kty".into(), json!(self.kty));
        key.insert("key_ops".into(), json!(self.key_ops));
        for (k, val) in &self.public {
            key.insert(k.clone(), json!(val));
        }
        let mut m = self.item(r, name, true);
        m.remove("kid");
        m.insert("key".into(), Value::Object(key));
        m
    }

    /// A KeyItem: kid, attributes (with `exportable: false`) and tags.
    fn item(&self, r: &Render<'_>, name: &str, versioned: bool) -> Map<String, Value> {
        let kid = if versioned {
            format!("{}/keys/{name}/{}", r.base, self.version)
        } else {
            format!("{}/keys/{name}", r.base)
        };
        let mut attributes = r.attributes(&self.attributes);
        attributes.insert("exportable".into(), json!(false));
        let mut m = Map::new();
        m.insert("kid".into(), json!(kid));
        m.insert("attributes".into(), Value::Object(attributes));
        if let Some(tags) = &self.tags {
            m.insert("tags".into(), json!(tags));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_validation() {
        assert_eq!(
            parse_create(br#"{"kty":"RSA"}"#).unwrap().spec,
            Spec::Rsa(2048)
        );
        assert_eq!(
            parse_create(br#"{"kty":"EC-HSM","crv":"P-384"}"#)
                .unwrap()
                .spec,
            Spec::Ec("P-384")
        );
        assert!(parse_create(br#"{"kty":"RSA","key_size":1024}"#).is_err());
        assert!(parse_create(br#"{"kty":"EC","crv":"P-999"}"#).is_err());
        assert!(parse_create(br#"{"kty":"nope"}"#).is_err());
        assert!(parse_create(br#"{}"#).is_err());
        assert!(parse_create(br#"{"kty":"oct","key_ops":["fly"]}"#).is_err());
    }

    #[test]
    fn ec_and_oct_material() {
        let (kty, _, public, private) = generate(&Spec::Ec("P-256")).unwrap();
        assert_eq!(kty, "EC-HSM");
        assert_eq!(URL_SAFE_NO_PAD.decode(&public["x"]).unwrap().len(), 32);
        assert!(!private.is_empty());
        let (kty, _, public, private) = generate(&Spec::Oct(256)).unwrap();
        assert_eq!((kty, public.len()), ("oct-HSM", 0));
        assert_eq!(STANDARD.decode(&private).unwrap().len(), 32);
        assert!(public_of("oct-HSM", &STANDARD.decode(private).unwrap()).is_ok());
        let (_, _, public, private) = generate(&Spec::Ec("P-384")).unwrap();
        let der = STANDARD.decode(private).unwrap();
        assert_eq!(public_of("EC-HSM", &der).unwrap(), public);
        assert!(public_of("RSA-HSM", &der).is_err());
        assert!(public_of("oct-HSM", &der).is_err());
    }
}
