//! Service API versions: the machinery behind each client crate's
//! `ApiVersion` enum.
//!
//! A client crate declares its enum with [`api_version_enum!`](crate::api_version_enum),
//! from a table of variants and wire values; the enum is a real,
//! documented, `#[non_exhaustive]` enum with an `Other(String)` variant for
//! versions it does not name (previews, newer versions). Version gates
//! ("this option needs 2025-06-01-preview or newer") compare versions with
//! the enum's `at_least`, which is [`is_at_least`] over the service's own
//! order of versions that the enum is declared with.

use crate::{Error, ErrorKind, Result};

/// Checks that `version` can be an API version: not empty (once trimmed),
/// and only ASCII letters, digits, `.` and `-`. Returns it trimmed.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] naming the string otherwise.
///
/// ```
/// use keyvault_core::api_version::validate;
///
/// assert_eq!(validate(" 7.6 ").unwrap(), "7.6");
/// assert_eq!(validate("2026-03-01-preview").unwrap(), "2026-03-01-preview");
/// assert!(validate("").is_err());
/// assert!(validate("7.6&x=1").is_err());
/// ```
pub fn validate(version: &str) -> Result<&str> {
    let v = version.trim();
    if v.is_empty()
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("`{v}` is not an API version"),
        ));
    }
    Ok(v)
}

/// Whether `version` starts with a date, `YYYY-MM-DD` (as `2026-04-01` and
/// `2026-03-01-preview` do, and `7.6` does not).
pub fn is_dated(version: &str) -> bool {
    matches!(
        version.as_bytes(),
        [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, ..]
            if [y0, y1, y2, y3, m0, m1, d0, d1].iter().all(|b| b.is_ascii_digit())
    )
}

/// Whether `version` is `minimum` or newer, by `ordered`: the service's
/// versions, previews included, oldest first.
///
/// A dated version that `ordered` does not list (a stable version newer
/// than the crate) takes its place by date: just after the last dated
/// version of `ordered` that is not later than it. Any other version that
/// `ordered` does not list counts as older than all of them. A `minimum`
/// that `ordered` does not list is never reached, so that a typo in a gate
/// closes it rather than opening it.
///
/// ```
/// use keyvault_core::api_version::is_at_least;
///
/// const ORDERED: &[&str] = &["7.5", "7.6", "2025-06-01-preview", "2025-07-01"];
/// assert!(is_at_least("2025-07-01", "2025-06-01-preview", ORDERED));
/// assert!(is_at_least("2027-01-01", "2025-06-01-preview", ORDERED));
/// assert!(is_at_least("2027-01-01", "7.6", ORDERED));
/// assert!(!is_at_least("7.6", "2025-06-01-preview", ORDERED));
/// assert!(!is_at_least("7.0", "7.5", ORDERED));
/// ```
pub fn is_at_least(version: &str, minimum: &str, ordered: &[&str]) -> bool {
    let rank = |v: &str| ordered.iter().position(|o| *o == v);
    match (rank(version), rank(minimum)) {
        (Some(a), Some(b)) => a >= b,
        (None, Some(b)) if is_dated(version) => ordered
            .iter()
            .rposition(|o| is_dated(o) && *o <= version)
            .is_some_and(|a| a >= b),
        _ => false,
    }
}

/// What [`ClientCore`](crate::client::ClientCore) needs of a client
/// crate's `ApiVersion` enum; [`api_version_enum!`](crate::api_version_enum)
/// implements it.
pub trait ServiceVersion:
    Clone + std::fmt::Debug + std::fmt::Display + Send + Sync + 'static
{
    /// The wire value, sent as `api-version`.
    fn as_str(&self) -> &str;

    /// Whether this version is `minimum` or newer, by the service's order
    /// of versions (see [`is_at_least`]).
    fn at_least(&self, minimum: &str) -> bool;
}

/// Declares a client crate's API version enum from a table of variants and
/// their wire values, oldest first, the default variant, and every version
/// of the service (previews included) in the service's order.
///
/// The enum gets the attributes and docs written on it and on each
/// variant, `#[non_exhaustive]`, an `Other(String)` variant for any other
/// version (sent as given), and `Clone`, `Debug`, `Default` (the `default`
/// variant), `PartialEq`, `Eq` and `Hash`. It has:
///
/// - `ALL`: every named variant, in table order;
/// - `DEFAULT`: the default variant; `ORDERED`: the `ordered` list;
/// - `as_str()`: the wire value;
/// - `at_least(minimum)`: the version gate, by [`is_at_least`] over `ORDERED`;
/// - `Display` (the wire value), `From<&str>` and `From<String>` (a named
///   variant when the string is one of the wire values, ignoring case and
///   surrounding spaces, `Other` otherwise) and `FromStr`, which also
///   [`validate`]s the string and fails with this crate's
///   [`Error`](crate::Error);
/// - [`ServiceVersion`], for [`ClientCore`](crate::client::ClientCore).
///
/// ```
/// keyvault_core::api_version_enum! {
///     /// A service API version.
///     pub enum ApiVersion {
///         /// `7.5`.
///         V7_5 => "7.5",
///         /// `2025-07-01`, the default.
///         V2025_07_01 => "2025-07-01",
///     }
///     default = V2025_07_01;
///     ordered = ["7.5", "7.6-preview.2", "2025-07-01"];
/// }
///
/// assert_eq!(ApiVersion::default(), ApiVersion::DEFAULT);
/// assert_eq!(ApiVersion::default().as_str(), "2025-07-01");
/// assert_eq!(ApiVersion::from("7.5"), ApiVersion::V7_5);
/// assert_eq!(ApiVersion::ALL, [ApiVersion::V7_5, ApiVersion::V2025_07_01]);
/// assert!(ApiVersion::V2025_07_01.at_least("7.6-preview.2"));
/// assert!(!ApiVersion::V7_5.at_least("7.6-preview.2"));
/// let preview: ApiVersion = "2026-01-01-preview".parse().unwrap();
/// assert_eq!(preview, ApiVersion::Other("2026-01-01-preview".into()));
/// assert_eq!(preview.to_string(), "2026-01-01-preview");
/// assert!("7.5?x=1".parse::<ApiVersion>().is_err());
/// ```
#[macro_export]
macro_rules! api_version_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $value:literal ),+ $(,)?
        }
        default = $default:ident;
        ordered = [$($ordered:literal),+ $(,)?];
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// Any other version string, sent as given (for example a preview).
            Other(::std::string::String),
        }

        impl $name {
            /// Every named version, oldest first.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The default version.
            pub const DEFAULT: $name = $name::$default;

            /// Every version of the service, previews included, oldest
            /// first: the order version gates follow.
            pub const ORDERED: &'static [&'static str] = &[$($ordered),+];

            /// The wire value, sent as `api-version`.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $value, )+
                    $name::Other(s) => s,
                }
            }

            /// Whether this version is `minimum` or newer, by the service's
            /// order of versions ([`ORDERED`](Self::ORDERED); a dated version
            /// it does not list takes its place by date).
            pub fn at_least(&self, minimum: &str) -> bool {
                $crate::api_version::is_at_least(self.as_str(), minimum, Self::ORDERED)
            }
        }

        impl ::std::default::Default for $name {
            fn default() -> Self {
                Self::DEFAULT
            }
        }

        impl $crate::api_version::ServiceVersion for $name {
            fn as_str(&self) -> &str {
                $name::as_str(self)
            }

            fn at_least(&self, minimum: &str) -> bool {
                $name::at_least(self, minimum)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                let v = value.trim();
                $(
                    if v.eq_ignore_ascii_case($value) {
                        return $name::$variant;
                    }
                )+
                $name::Other(::std::borrow::ToOwned::to_owned(v))
            }
        }

        impl ::std::convert::From<::std::string::String> for $name {
            fn from(value: ::std::string::String) -> Self {
                Self::from(value.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;

            /// Parses a version; a named one gives its variant, anything
            /// else `Other`.
            ///
            /// # Errors
            /// `ErrorKind::InvalidInput` when the string is empty or holds
            /// characters that cannot be in a version.
            fn from_str(s: &str) -> $crate::Result<Self> {
                $crate::api_version::validate(s).map(Self::from)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::api_version_enum! {
        /// A test enum.
        enum Version {
            /// `2016-10-01`.
            V2016_10_01 => "2016-10-01",
            /// `7.6`.
            V7_6 => "7.6",
            /// `2026-04-01`.
            V2026_04_01 => "2026-04-01",
        }
        default = V2026_04_01;
        ordered = [
            "7.5",
            "7.6-preview.2",
            "7.6",
            "2025-06-01-preview",
            "2025-07-01",
            "2026-04-01",
        ];
    }

    const ORDERED: &[&str] = Version::ORDERED;

    #[test]
    fn named_versions_round_trip_and_others_are_kept() {
        assert_eq!(Version::ALL.len(), 3);
        for v in Version::ALL {
            assert_eq!(&Version::from(v.as_str()), v);
            assert_eq!(v.to_string().parse::<Version>().unwrap(), *v);
        }
        assert_eq!(Version::default(), Version::V2026_04_01);
        assert_eq!(Version::DEFAULT, Version::V2026_04_01);
        assert!(Version::V2026_04_01.at_least("7.6"));
        assert!(!Version::V7_6.at_least("2025-07-01"));
        assert_eq!(Version::from(" 7.6 "), Version::V7_6);
        assert_eq!(
            Version::from(String::from("7.6-PREVIEW.2")),
            Version::Other("7.6-PREVIEW.2".into())
        );
        assert_eq!(Version::Other("x".into()).as_str(), "x");
        let e = "7.6/x".parse::<Version>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("7.6/x"), "{e}");
    }

    #[test]
    fn gates_follow_the_order_then_the_date() {
        let gate = "2025-06-01-preview";
        for old in [
            "7.0",
            "7.5",
            "7.6-preview.2",
            "7.6",
            "2016-10-01",
            "1.0",
            "",
        ] {
            assert!(!is_at_least(old, gate, ORDERED), "{old}");
        }
        for new in [
            "2025-06-01-preview",
            "2025-07-01",
            "2026-04-01",
            "2027-01-01",
        ] {
            assert!(is_at_least(new, gate, ORDERED), "{new}");
        }
        // An unlisted minimum is never reached.
        assert!(!is_at_least("2026-04-01", "2025-01-01", ORDERED));
        // An unlisted dated version takes its place by date.
        assert!(is_at_least("2027-01-01", "7.6", ORDERED));
        assert!(is_at_least("2025-06-15", gate, ORDERED));
        assert!(!is_at_least("2025-06-15", "2025-07-01", ORDERED));
        assert!(!is_at_least("2020-01-01", "7.5", ORDERED));
        assert!(is_at_least("7.6", "7.6-preview.2", ORDERED));
    }

    #[test]
    fn dates_are_recognised() {
        assert!(is_dated("2026-04-01"));
        assert!(is_dated("2026-03-01-preview"));
        assert!(!is_dated("7.6"));
        assert!(!is_dated("2026-4-01"));
        assert!(!is_dated("2026-04"));
    }
}
