//! `#[serde(with)]` helpers for `format: base64url` fields of the generated
//! models: URL-safe base64 without padding on the wire (padding is accepted
//! when decoding), bytes in Rust.
//!
//! ```
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Backup {
//!     #[serde(with = "keyvault_core::base64url")]
//!     value: Vec<u8>,
//! }
//! let json = serde_json::to_string(&Backup { value: vec![0xfb, 0xff] }).unwrap();
//! assert_eq!(json, r#"{"value":"-_8"}"#);
//! ```

use base64::Engine as _;

const ENGINE: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    ENGINE.decode(text)
}

/// Serializes bytes as base64url text.
///
/// # Errors
/// Those of the serializer.
pub fn serialize<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&ENGINE.encode(bytes))
}

/// Deserializes base64url text, with or without padding, into bytes.
///
/// # Errors
/// Fails when the value is not a string of base64url text.
pub fn deserialize<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    decode(&text).map_err(serde::de::Error::custom)
}

/// The same for optional fields: `None` is `null` on the wire.
pub mod option {
    /// Serializes optional bytes as base64url text or `null`.
    ///
    /// # Errors
    /// Those of the serializer.
    pub fn serialize<S: serde::Serializer>(
        bytes: &Option<Vec<u8>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => super::serialize(bytes, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Deserializes optional base64url text into bytes.
    ///
    /// # Errors
    /// Fails when the value is neither `null` nor a string of base64url text.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        let text = <Option<String> as serde::Deserialize>::deserialize(deserializer)?;
        text.map(|t| super::decode(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Both {
        #[serde(with = "super")]
        required: Vec<u8>,
        #[serde(with = "super::option", default)]
        optional: Option<Vec<u8>>,
    }

    #[test]
    fn round_trips_without_padding_and_accepts_padding() {
        let both = Both {
            required: vec![0xfb, 0xff],
            optional: Some(vec![0xff]),
        };
        let json = serde_json::to_string(&both).unwrap();
        assert_eq!(json, r#"{"required":"-_8","optional":"_w"}"#);
        let padded: Both =
            serde_json::from_str(r#"{"required":"-_8=","optional":"_w=="}"#).unwrap();
        assert_eq!(padded, both);
        let none: Both = serde_json::from_str(r#"{"required":"","optional":null}"#).unwrap();
        assert_eq!(none.optional, None);
        assert!(serde_json::from_str::<Both>(r#"{"required":"+/"}"#).is_err());
    }
}
