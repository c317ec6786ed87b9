//! The crate's parsers, for the fuzz targets in `fuzz/` (feature `fuzzing`,
//! off by default; not an API).

/// Splits a backup folder URL into container URL and folder.
pub fn folder_url(text: &str) -> Option<(String, String)> {
    crate::backup::models::parse_folder_url(text).ok()
}

/// Checks a blob container URL.
pub fn container_url(text: &str) -> Option<String> {
    crate::backup::models::container_url(text).ok()
}
