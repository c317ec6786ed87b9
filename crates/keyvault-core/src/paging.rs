//! Paging over Key Vault's `{ "value": [...], "nextLink": "..." }` list responses.

/// A decoded page of a list operation: its items and the link to the next page.
///
/// Generated list-result models implement this trait so that the pager in this
/// module can walk any list operation.
pub trait Paged: serde::de::DeserializeOwned + Send + 'static {
    /// The type of one item of the list.
    type Item: Send + 'static;

    /// Splits the page into its items and its `nextLink` (absent or empty on
    /// the last page).
    fn into_page(self) -> (Vec<Self::Item>, Option<String>);
}
