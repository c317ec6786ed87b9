//! The service API versions the administration clients can speak.

use std::{fmt, str::FromStr};

/// A Managed HSM administration API version, sent as `api-version` on every
/// request.
///
/// The default is the newest stable version, [`ApiVersion::V2025_07_01`].
/// Any other version, such as a preview, can be given with
/// [`ApiVersion::Other`] or parsed from a string.
///
/// ```
/// use keyvault_administration::ApiVersion;
///
/// assert_eq!(ApiVersion::default(), ApiVersion::V2025_07_01);
/// assert_eq!(ApiVersion::V7_4.as_str(), "7.4");
/// let preview: ApiVersion = "7.6-preview.2".parse().unwrap();
/// assert_eq!(preview, ApiVersion::Other("7.6-preview.2".into()));
/// assert_eq!("7.5".parse::<ApiVersion>().unwrap(), ApiVersion::V7_5);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiVersion {
    /// `7.2`.
    V7_2,
    /// `7.3`.
    V7_3,
    /// `7.4`.
    V7_4,
    /// `7.5`.
    V7_5,
    /// `7.6`.
    V7_6,
    /// `2025-07-01`, the default.
    #[default]
    V2025_07_01,
    /// Any other version string, sent as given (for example a preview).
    Other(String),
}

/// The wire value of the default version.
pub(crate) const DEFAULT: &str = "2025-07-01";

/// The named versions with their wire values, oldest first.
const KNOWN: &[(ApiVersion, &str)] = &[
    (ApiVersion::V7_2, "7.2"),
    (ApiVersion::V7_3, "7.3"),
    (ApiVersion::V7_4, "7.4"),
    (ApiVersion::V7_5, "7.5"),
    (ApiVersion::V7_6, "7.6"),
    (ApiVersion::V2025_07_01, "2025-07-01"),
];

/// The versions, in service order, that version-gated operations are
/// checked against. A version not in this list counts as older than all.
const ORDERED: &[&str] = &["7.6-preview.2", "7.6", "2025-06-01-preview", "2025-07-01"];

impl ApiVersion {
    /// Every named version, oldest first.
    pub const ALL: &'static [ApiVersion] = &[
        Self::V7_2,
        Self::V7_3,
        Self::V7_4,
        Self::V7_5,
        Self::V7_6,
        Self::V2025_07_01,
    ];

    /// The wire value, for example `7.6` or `2025-07-01`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(s) => s,
            known => KNOWN
                .iter()
                .find(|(v, _)| v == known)
                .map_or("", |(_, s)| s),
        }
    }

    /// Whether this version is `minimum` or newer, by the service's order of
    /// versions; a version the order does not list counts as the oldest,
    /// unless it is a dated version at or after `minimum`'s date.
    pub(crate) fn at_least(&self, minimum: &str) -> bool {
        let rank = |v: &str| ORDERED.iter().position(|o| *o == v);
        match (rank(self.as_str()), rank(minimum)) {
            (Some(a), Some(b)) => a >= b,
            // Dated versions come after every `7.x` one.
            (None, Some(_)) => {
                let v = self.as_str();
                is_dated(v) && (!is_dated(minimum) || v >= minimum)
            }
            _ => false,
        }
    }
}

/// `YYYY-MM-DD...`: a dated API version.
fn is_dated(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ApiVersion {
    fn from(value: &str) -> Self {
        let v = value.trim();
        KNOWN
            .iter()
            .find(|(_, s)| s.eq_ignore_ascii_case(v))
            .map_or_else(|| Self::Other(v.to_owned()), |(k, _)| k.clone())
    }
}

impl From<String> for ApiVersion {
    fn from(value: String) -> Self {
        Self::from(value.as_str())
    }
}

impl FromStr for ApiVersion {
    type Err = crate::Error;

    /// Parses a version; a named one gives its variant, anything else
    /// [`ApiVersion::Other`].
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the
    /// string is empty or holds characters that cannot be in a version.
    fn from_str(s: &str) -> crate::Result<Self> {
        let v = s.trim();
        if v.is_empty()
            || !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Err(crate::Error::new(
                crate::ErrorKind::InvalidInput,
                format!("`{v}` is not an API version"),
            ));
        }
        Ok(Self::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_version_round_trips() {
        assert_eq!(ApiVersion::ALL.len(), KNOWN.len());
        for v in ApiVersion::ALL {
            assert!(!v.as_str().is_empty());
            assert_eq!(&ApiVersion::from(v.as_str()), v);
            assert_eq!(v.to_string().parse::<ApiVersion>().unwrap(), *v);
        }
        assert_eq!(ApiVersion::default().as_str(), DEFAULT);
    }

    #[test]
    fn pre_backup_gate_follows_the_service_order() {
        let gate = "7.6-preview.2";
        for old in ["7.2", "7.3", "7.4", "7.5", "1.0", "7.6-preview.1"] {
            assert!(!ApiVersion::from(old).at_least(gate), "{old}");
        }
        for new in [
            "7.6-preview.2",
            "7.6",
            "2025-06-01-preview",
            "2025-07-01",
            "2026-01-01",
        ] {
            assert!(ApiVersion::from(new).at_least(gate), "{new}");
        }
    }

    #[test]
    fn bad_strings_are_refused() {
        assert!("".parse::<ApiVersion>().is_err());
        assert!("7.6?x=1".parse::<ApiVersion>().is_err());
    }
}
