//! Sealing with AES-256-GCM: backups under the emulator's backup key, and the
//! records of the data directory under its data key.

use aes_gcm::aead::{Aead, AeadInPlace, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

/// The length of a sealed blob's header: a format byte and a 12-byte nonce.
const HEADER: usize = 13;
/// The length of the AES-GCM tag.
const TAG: usize = 16;

/// A key ready to seal and open many blobs (its schedule is computed once).
#[derive(Clone)]
pub(crate) struct Sealer(Aes256Gcm);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        Self(Aes256Gcm::new(key.into()))
    }

    /// Seals `plain` as `format byte || nonce || ciphertext and tag`, bound
    /// to `aad` (encrypted in place in the one buffer returned).
    pub(crate) fn seal(&self, format: u8, aad: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = Vec::with_capacity(HEADER + plain.len() + TAG);
        out.push(format);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let tag = (self.0)
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut out[HEADER..])
            .ok()?;
        out.extend_from_slice(&tag);
        Some(out)
    }

    /// Opens what [`Sealer::seal`] made with the same key, format and
    /// `aad`; `None` for anything else (short, another format, tampered,
    /// another key).
    pub(crate) fn open(&self, format: u8, aad: &[u8], raw: &[u8]) -> Option<Vec<u8>> {
        if raw.len() < HEADER + TAG || raw[0] != format {
            return None;
        }
        let msg = &raw[HEADER..];
        (self.0)
            .decrypt(Nonce::from_slice(&raw[1..HEADER]), Payload { msg, aad })
            .ok()
    }
}

/// Seals `plain` under `key` (see [`Sealer::seal`]).
pub(crate) fn seal(key: &[u8; 32], format: u8, aad: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
    Sealer::new(key).seal(format, aad, plain)
}

/// Opens what [`seal`] made (see [`Sealer::open`]).
pub(crate) fn open(key: &[u8; 32], format: u8, aad: &[u8], raw: &[u8]) -> Option<Vec<u8>> {
    Sealer::new(key).open(format, aad, raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing() {
        let key = [7u8; 32];
        let sealed = seal(&key, 1, b"a", b"plain").unwrap();
        assert_eq!(open(&key, 1, b"a", &sealed).unwrap(), b"plain");
        assert!(open(&key, 1, b"b", &sealed).is_none());
        assert!(open(&key, 2, b"a", &sealed).is_none());
        assert!(open(&[8u8; 32], 1, b"a", &sealed).is_none());
        assert!(open(&key, 1, b"a", &sealed[..HEADER + TAG - 1]).is_none());
        assert!(open(&key, 1, b"a", &[]).is_none());
        assert!(format!("{:?}", Sealer::new(&key)).contains("redacted"));
    }
}
