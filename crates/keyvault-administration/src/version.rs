//! The service API versions the administration clients can speak.

keyvault_core::api_version_enum! {
    /// A Managed HSM administration API version, sent as `api-version` on
    /// every request.
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
    pub enum ApiVersion {
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
        /// `2025-07-01`, the default.
        V2025_07_01 => "2025-07-01",
    }
    default = V2025_07_01;
    // The versions version-gated operations are checked against, in
    // service order.
    ordered = [
        "7.2",
        "7.3",
        "7.4",
        "7.5",
        "7.6-preview.2",
        "7.6",
        "2025-06-01-preview",
        "2025-07-01",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn named_versions_are_in_the_service_order() {
        for v in ApiVersion::ALL {
            assert!(ApiVersion::ORDERED.contains(&v.as_str()), "{v}");
        }
    }
}
