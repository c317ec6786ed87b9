//! Sealing backups with AES-256-GCM under the emulator's backup key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

/// The length of a sealed blob's header: a format byte and a 12-byte nonce.
const HEADER: usize = 13;
/// The length of the AES-GCM tag.
const TAG: usize = 16;

/// Seals `plain` as `format byte || nonce || ciphertext and tag`, bound to
/// `aad`.
pub(crate) fn seal(key: &[u8; 32], format: u8, aad: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = Aes256Gcm::new(key.into())
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .ok()?;
    let mut out = Vec::with_capacity(HEADER + sealed.len());
    out.push(format);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Some(out)
}

/// Opens what [`seal`] made with the same key, format and `aad`; `None` for
/// anything else (short, another format, tampered, another key).
pub(crate) fn open(key: &[u8; 32], format: u8, aad: &[u8], raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() < HEADER + TAG || raw[0] != format {
        return None;
    }
    Aes256Gcm::new(key.into())
        .decrypt(
            Nonce::from_slice(&raw[1..HEADER]),
            Payload {
                msg: &raw[HEADER..],
                aad,
            },
        )
        .ok()
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
    }
}
