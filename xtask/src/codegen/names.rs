//! Turning wire names into Rust identifiers.

/// Words that cannot be identifiers as they are.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Splits `camelCase`, `PascalCase`, `kebab-case`, `snake_case`, `$odd.names`
/// and `ACRONYMRuns` into lower-case words.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !current.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `secretName` -> `secret_name`, escaping keywords (`type` -> `r#type`).
pub(crate) fn snake(name: &str) -> String {
    let mut s = words(name).join("_");
    if s.is_empty() {
        s.push_str("value");
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    escape(s)
}

/// `GetSecret` -> `GET_SECRET`.
pub(crate) fn screaming(name: &str) -> String {
    words(name).join("_").to_ascii_uppercase()
}

/// `Recoverable+Purgeable` -> `RecoverablePurgeable`, `PFX` -> `Pfx`.
pub(crate) fn pascal(name: &str) -> String {
    let mut s: String = words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect();
    if s.is_empty() {
        s.push_str("Empty");
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'V');
    }
    escape(s)
}

/// A type name: kept as written when it already is a valid identifier that
/// is not all capitals, otherwise made PascalCase.
pub(crate) fn type_name(name: &str) -> String {
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
        && !name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if valid && name.starts_with(|c: char| c.is_ascii_uppercase()) && !KEYWORDS.contains(&name) {
        name.to_string()
    } else {
        pascal(name)
    }
}

fn escape(s: String) -> String {
    match s.as_str() {
        "self" | "Self" | "super" | "crate" => format!("{s}_"),
        _ if KEYWORDS.contains(&s.as_str()) => format!("r#{s}"),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_names() {
        assert_eq!(snake("secretName"), "secret_name");
        assert_eq!(snake("secret-name"), "secret_name");
        assert_eq!(snake("NotBefore"), "not_before");
        assert_eq!(snake("$filter"), "filter");
        assert_eq!(
            snake("RoleAssignments_ListForScope"),
            "role_assignments_list_for_scope"
        );
        assert_eq!(snake("AKVBuiltInRole"), "akv_built_in_role");
        assert_eq!(
            snake("azureStorageBlobContainerUri"),
            "azure_storage_blob_container_uri"
        );
    }

    #[test]
    fn reserved_words_are_escaped() {
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("match"), "r#match");
        assert_eq!(snake("self"), "self_");
        assert_eq!(pascal("Self"), "Self_");
        assert_eq!(type_name("type"), "Type");
    }

    #[test]
    fn pascal_case_names() {
        assert_eq!(pascal("Recoverable+Purgeable"), "RecoverablePurgeable");
        assert_eq!(pascal("PFX"), "Pfx");
        assert_eq!(pascal("boolean"), "Boolean");
        assert_eq!(pascal("/"), "Empty");
        assert_eq!(
            pascal("Microsoft.Authorization/roleDefinitions"),
            "MicrosoftAuthorizationRoleDefinitions"
        );
        assert_eq!(screaming("GetSecret"), "GET_SECRET");
        assert_eq!(type_name("SASTokenParameter"), "SASTokenParameter");
        assert_eq!(
            type_name("Azure.Core.Foundations.Error"),
            "AzureCoreFoundationsError"
        );
    }
}
