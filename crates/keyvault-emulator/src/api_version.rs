//! The `api-version` query parameter: which versions the emulator accepts and
//! what each one changes in the wire format.

use crate::error::ServiceError;

/// Every accepted version, oldest first. The position is the ordering used by
/// [`ApiVersion::at_least`].
const KNOWN: &[&str] = &[
    "2016-10-01",
    "7.0",
    "7.1",
    "7.2",
    "7.3-preview",
    "7.3",
    "7.4-preview.1",
    "7.4",
    "7.5-preview.1",
    "7.5",
    "7.6-preview.1",
    "7.6-preview.2",
    "7.6",
    "2025-06-01-preview",
    "2025-07-01",
    "2026-01-01-preview",
    "2026-03-01-preview",
    "2026-04-01",
];

/// A validated `api-version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ApiVersion(usize);

impl ApiVersion {
    /// The version `7.1`, the first with `recoverableDays`.
    pub(crate) const V7_1: ApiVersion = ApiVersion(2);

    /// The version `7.6-preview.2`, the first with pre-backup and pre-restore checks.
    pub(crate) const V7_6_PREVIEW_2: ApiVersion = ApiVersion(11);

    /// The version `2025-07-01`, the first stable one with `previousVersion`.
    pub(crate) const V2025_07_01: ApiVersion = ApiVersion(14);

    /// The newest version, for the few requests that may omit one.
    pub(crate) const LATEST: ApiVersion = ApiVersion(KNOWN.len() - 1);

    /// Parses the raw query value (case-insensitive, like the service).
    pub(crate) fn parse(raw: Option<&str>) -> Result<Self, ServiceError> {
        let Some(raw) = raw else {
            return Err(ServiceError::bad_parameter(format!(
                "The api-version query parameter is missing. Supported versions: {}.",
                KNOWN.join(", ")
            )));
        };
        KNOWN
            .iter()
            .position(|v| v.eq_ignore_ascii_case(raw.trim()))
            .map(ApiVersion)
            .ok_or_else(|| {
                ServiceError::bad_parameter(format!(
                    "The specified version ({raw}) is not recognized. Supported versions: {}.",
                    KNOWN.join(", ")
                ))
            })
    }

    /// Whether this version is `other` or newer.
    pub(crate) fn at_least(self, other: ApiVersion) -> bool {
        self >= other
    }

    /// The version as the client sent it (canonical spelling).
    pub(crate) fn as_str(self) -> &'static str {
        KNOWN[self.0]
    }
}

/// All accepted versions, oldest first.
pub fn supported_versions() -> &'static [&'static str] {
    KNOWN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_point_at_their_names() {
        assert_eq!(ApiVersion::V7_1.as_str(), "7.1");
        assert_eq!(ApiVersion::V2025_07_01.as_str(), "2025-07-01");
        assert_eq!(ApiVersion::V7_6_PREVIEW_2.as_str(), "7.6-preview.2");
    }

    #[test]
    fn parses_known_and_rejects_unknown() {
        assert_eq!(ApiVersion::parse(Some("7.3")).unwrap().as_str(), "7.3");
        assert_eq!(
            ApiVersion::parse(Some("2026-03-01-PREVIEW"))
                .unwrap()
                .as_str(),
            "2026-03-01-preview"
        );
        let err = ApiVersion::parse(Some("1.0")).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.message.contains("2025-07-01"));
        assert!(ApiVersion::parse(None).is_err());
        assert!(
            ApiVersion::parse(Some("2026-04-01"))
                .unwrap()
                .at_least(ApiVersion::V2025_07_01)
        );
        assert!(
            !ApiVersion::parse(Some("7.0"))
                .unwrap()
                .at_least(ApiVersion::V7_1)
        );
    }
}
