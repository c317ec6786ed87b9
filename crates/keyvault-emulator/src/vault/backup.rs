//! Backup blobs: the secret (all versions) as JSON, sealed with AES-256-GCM
//! under a key that belongs to one emulator (persisted with its data
//! directory). Opaque to clients and restorable only into that emulator.

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};

use super::model::StoredSecret;
use crate::error::ServiceError;
use crate::seal;

const FORMAT: u8 = 1;
const AAD: &[u8] = b"keyvault-emulator secret backup v1";

/// Seals `secret` into a base64url (unpadded) blob.
pub(crate) fn seal(key: &[u8; 32], secret: &StoredSecret) -> Result<String, ServiceError> {
    let mut plain = secret.clone();
    plain.deleted = None;
    let json = serde_json::to_vec(&plain)
        .map_err(|_| ServiceError::internal("The backup could not be encoded."))?;
    let blob = seal::seal(key, FORMAT, AAD, &json)
        .ok_or_else(|| ServiceError::internal("The backup could not be sealed."))?;
    Ok(URL_SAFE_NO_PAD.encode(blob))
}

/// Opens a blob made by [`seal`] with the same key.
pub(crate) fn open(key: &[u8; 32], blob: &str) -> Result<StoredSecret, ServiceError> {
    let corrupt =
        || ServiceError::bad_parameter("Backup blob contains invalid or corrupt version.");
    let trimmed = blob.trim();
    let raw = URL_SAFE_NO_PAD
        .decode(trimmed.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(trimmed))
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(trimmed))
        .map_err(|_| corrupt())?;
    let plain = seal::open(key, FORMAT, AAD, &raw).ok_or_else(corrupt)?;
    let secret: StoredSecret = serde_json::from_slice(&plain).map_err(|_| corrupt())?;
    if secret.latest().is_none() {
        return Err(corrupt());
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::objects::Attributes;
    use crate::objects::request::Properties;
    use crate::vault::model::StoredVersion;

    fn secret() -> StoredSecret {
        let v = StoredVersion {
            version: "0".repeat(32),
            value: "hunter2".into(),
            content_type: None,
            tags: None,
            attributes: Attributes::new(&Properties::default(), 1),
            kid: None,
            managed: None,
            previous_version: None,
        };
        StoredSecret {
            name: "n".into(),
            versions: [(v.version.clone(), v)].into_iter().collect(),
            latest: "0".repeat(32),
            deleted: None,
        }
    }

    #[test]
    fn round_trip_is_opaque_and_authenticated() {
        let key = [7u8; 32];
        let blob = seal(&key, &secret()).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&blob).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("hunter2"));
        assert_eq!(open(&key, &blob).unwrap(), secret());
        assert!(open(&[8u8; 32], &blob).is_err());
        let mut tampered = raw.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(open(&key, &URL_SAFE_NO_PAD.encode(tampered)).is_err());
        assert!(open(&key, "not base64 !!").is_err());
    }
}
