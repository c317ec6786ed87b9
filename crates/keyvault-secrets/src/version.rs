//! The service API versions a [`SecretClient`](crate::SecretClient) can speak.

keyvault_core::api_version_enum! {
    /// A Key Vault secrets API version, sent as `api-version` on every request.
    ///
    /// The default is the newest stable version, [`ApiVersion::V2026_04_01`].
    /// Any other version, such as a preview, can be given with
    /// [`ApiVersion::Other`] or parsed from a string.
    ///
    /// ```
    /// use keyvault_secrets::ApiVersion;
    ///
    /// assert_eq!(ApiVersion::default(), ApiVersion::V2026_04_01);
    /// assert_eq!(ApiVersion::V7_4.as_str(), "7.4");
    /// let preview: ApiVersion = "2026-03-01-preview".parse().unwrap();
    /// assert_eq!(preview, ApiVersion::Other("2026-03-01-preview".into()));
    /// assert_eq!("7.6".parse::<ApiVersion>().unwrap(), ApiVersion::V7_6);
    /// ```
    pub enum ApiVersion {
        /// `2016-10-01`.
        V2016_10_01 => "2016-10-01",
        /// `7.0`.
        V7_0 => "7.0",
        /// `7.1`.
        V7_1 => "7.1",
        /// `7.2`.
        V7_2 => "7.2",
        /// `7.3`.
        V7_3 => "7.3",
        /// `7.4`.
        V7_4 => "7.4",
        /// `7.5`.
        V7_5 => "7.5",
        /// `7.6`.
        V7_6 => "7.6",
        /// `2025-07-01`.
        V2025_07_01 => "2025-07-01",
        /// `2026-04-01`, the default.
        V2026_04_01 => "2026-04-01",
    }
    default = V2026_04_01;
    // The versions version-gated features are checked against, in
    // service order.
    ordered = [
        "7.5",
        "7.6-preview.2",
        "7.6",
        "2025-06-01-preview",
        "2025-07-01",
        "2026-01-01-preview",
        "2026-03-01-preview",
        "2026-04-01",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_gate_follows_the_service_order() {
        let gate = "2025-06-01-preview";
        for old in ["7.0", "7.4", "7.5", "7.6", "2016-10-01", "1.0"] {
            assert!(!ApiVersion::from(old).at_least(gate), "{old}");
        }
        for new in [
            "2025-06-01-preview",
            "2025-07-01",
            "2026-01-01-preview",
            "2026-04-01",
            "2027-01-01",
        ] {
            assert!(ApiVersion::from(new).at_least(gate), "{new}");
        }
    }

    #[test]
    fn named_versions_are_the_ordered_ones_from_7_5() {
        // Every named version the gates can see is in the service order.
        for v in ApiVersion::ALL
            .iter()
            .skip_while(|v| **v != ApiVersion::V7_5)
        {
            assert!(ApiVersion::ORDERED.contains(&v.as_str()), "{v}");
        }
    }
}
