//! [`SecretValue`], the type every keyvault-rs crate holds a secret in.

use std::fmt;

use zeroize::Zeroizing;

/// A secret value: zeroized when dropped, printed as `<redacted>` by
/// `Debug`, and read only with [`expose_secret`](Self::expose_secret).
///
/// The client crates re-export it: a secret's value in keyvault-secrets, a
/// SAS token in keyvault-administration.
///
/// ```
/// use keyvault_core::SecretValue;
///
/// let value = SecretValue::from("hunter2");
/// assert_eq!(format!("{value:?}"), "<redacted>");
/// assert_eq!(value.expose_secret(), "hunter2");
/// ```
///
/// Two values compare equal when their bytes are equal; the comparison
/// takes the same time wherever the first difference is (only the lengths
/// are compared in the ordinary way).
///
/// ```
/// use keyvault_core::SecretValue;
///
/// assert_eq!(SecretValue::from("hunter2"), SecretValue::from("hunter2"));
/// assert_ne!(SecretValue::from("hunter2"), SecretValue::from("hunter3"));
/// ```
///
/// With the `serde` feature a value deserializes from a string, but it
/// serializes only inside `ExposeSecrets` or through the
/// `serde_secret_value` module: anywhere else serializing it fails, so a
/// value never reaches a file or a log by accident.
#[derive(Clone, Default)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self::from(value.into())
    }

    /// The value in clear. Avoid keeping copies of it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The length of the value in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for SecretValue {
    fn from(value: &str) -> Self {
        Self(Zeroizing::new(value.to_owned()))
    }
}

impl From<String> for SecretValue {
    /// Takes the string without copying it; its whole buffer is zeroized
    /// when the value is dropped.
    fn from(value: String) -> Self {
        Self(Zeroizing::new(value))
    }
}

impl PartialEq for SecretValue {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        // Every byte is read whatever the first difference: no early exit.
        let difference = a
            .iter()
            .zip(b)
            .fold(0_u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
        std::hint::black_box(difference) == 0
    }
}

impl Eq for SecretValue {}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(feature = "serde")]
mod serde_impls {
    use std::cell::Cell;

    use serde::{Deserialize, Deserializer, Serialize, Serializer, ser::Error as _};

    use super::SecretValue;

    thread_local! {
        /// How many [`ExposeSecrets`] are serializing on this thread.
        static EXPOSING: Cell<usize> = const { Cell::new(0) };
    }

    /// Serializes what it wraps with the [`SecretValue`]s in it in clear;
    /// without it, serializing a `SecretValue` fails.
    ///
    /// Serialization runs on the caller's thread, and the values are
    /// exposed only for the duration of that call.
    ///
    /// ```
    /// use keyvault_core::{ExposeSecrets, SecretValue};
    ///
    /// let value = SecretValue::from("hunter2");
    /// assert!(serde_json::to_string(&value).is_err());
    /// assert_eq!(serde_json::to_string(&ExposeSecrets(&value)).unwrap(), r#""hunter2""#);
    /// ```
    #[derive(Clone, Copy, Debug)]
    pub struct ExposeSecrets<T>(pub T);

    impl<T: Serialize> Serialize for ExposeSecrets<T> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            struct Exposing;
            impl Drop for Exposing {
                fn drop(&mut self) {
                    EXPOSING.with(|n| n.set(n.get() - 1));
                }
            }
            EXPOSING.with(|n| n.set(n.get() + 1));
            let _exposing = Exposing;
            self.0.serialize(serializer)
        }
    }

    /// Fails unless inside [`ExposeSecrets`].
    impl Serialize for SecretValue {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            if EXPOSING.with(Cell::get) > 0 {
                serializer.serialize_str(self.expose_secret())
            } else {
                Err(S::Error::custom(
                    "a secret value is serialized only when asked for: wrap what holds it in \
                     ExposeSecrets, or name the serde_secret_value module in #[serde(with)]",
                ))
            }
        }
    }

    /// Reads a string.
    impl<'de> Deserialize<'de> for SecretValue {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            String::deserialize(deserializer).map(Self::from)
        }
    }
}

#[cfg(feature = "serde")]
pub use serde_impls::ExposeSecrets;

/// A `#[serde(with = "...")]` module for a [`SecretValue`] field of one's
/// own type, which it serializes in clear (and reads from a string).
///
/// ```
/// use keyvault_core::SecretValue;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Login {
///     user: String,
///     #[serde(with = "keyvault_core::serde_secret_value")]
///     password: SecretValue,
/// }
///
/// let login = Login { user: "me".into(), password: "hunter2".into() };
/// let json = serde_json::to_string(&login).unwrap();
/// assert_eq!(json, r#"{"user":"me","password":"hunter2"}"#);
/// let back: Login = serde_json::from_str(&json).unwrap();
/// assert_eq!(back.password, login.password);
/// ```
#[cfg(feature = "serde")]
pub mod serde_secret_value {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::SecretValue;

    /// Writes the value in clear.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(value: &SecretValue, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.expose_secret())
    }

    /// Reads the value from a string.
    ///
    /// # Errors
    /// The deserializer's, for anything but a string.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<SecretValue, D::Error> {
        SecretValue::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_the_value_is_kept() {
        let v = SecretValue::new(String::from("s3cr3t"));
        assert_eq!(format!("{v:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(v.clone())), "Some(<redacted>)");
        assert_eq!(v.expose_secret(), "s3cr3t");
        assert_eq!(v.len(), 6);
        assert!(!v.is_empty() && SecretValue::default().is_empty());
    }

    #[test]
    fn equality_is_by_bytes() {
        let v = SecretValue::from("s3cr3t");
        assert_eq!(v, SecretValue::new("s3cr3t".to_owned()));
        assert_ne!(v, SecretValue::from("s3cr3T"));
        assert_ne!(v, SecretValue::from("s3cr3"));
        assert_ne!(v, SecretValue::default());
        assert_eq!(SecretValue::default(), SecretValue::from(""));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serialized_only_when_exposed() {
        let v = SecretValue::from("s3cr3t");
        let err = serde_json::to_string(&vec![v.clone()]).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(err.to_string().contains("ExposeSecrets"), "{err}");
        let exposed = serde_json::to_string(&ExposeSecrets(vec![&v])).unwrap();
        assert_eq!(exposed, r#"["s3cr3t"]"#);
        // Exposure ends with the call, even when the call fails.
        assert!(serde_json::to_string(&v).is_err());
        let back: Vec<SecretValue> = serde_json::from_str(&exposed).unwrap();
        assert_eq!(back, vec![v]);
    }
}
