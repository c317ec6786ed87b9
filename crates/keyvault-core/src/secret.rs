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

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
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
}
