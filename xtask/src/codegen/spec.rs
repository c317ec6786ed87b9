//! Stage 1, parse: load spec files and every file their `$ref`s reach.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// One loaded spec file.
pub(crate) struct Doc {
    /// How the file is named in headers and messages: relative to the
    /// workspace root when it is inside it.
    pub display: String,
    /// Hex sha256 of the file's bytes.
    pub sha256: String,
    /// The parsed JSON.
    pub json: Value,
}

/// Every spec file of one generation run, keyed by canonical path.
pub(crate) struct Specs {
    pub docs: BTreeMap<PathBuf, Doc>,
}

impl Specs {
    /// Loads `entries` and, transitively, every file a `$ref` names.
    pub(crate) fn load(root: &Path, entries: &[PathBuf]) -> Result<(Self, Vec<PathBuf>), String> {
        let mut specs = Specs {
            docs: BTreeMap::new(),
        };
        let mut keys = Vec::new();
        let mut queue = Vec::new();
        for entry in entries {
            let key = canonical(entry)?;
            keys.push(key.clone());
            queue.push(key);
        }
        while let Some(path) = queue.pop() {
            if specs.docs.contains_key(&path) {
                continue;
            }
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let json: Value = serde_json::from_slice(&bytes)
                .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
            let mut refs = Vec::new();
            collect_refs(&json, &mut refs);
            for r in refs {
                let (file, _) = split_ref(&r);
                if !file.is_empty() {
                    let dir = path.parent().unwrap_or(Path::new("."));
                    queue.push(canonical(&dir.join(file))?);
                }
            }
            let display = display_path(root, &path);
            let sha256 = hex(&Sha256::digest(&bytes));
            specs.docs.insert(
                path,
                Doc {
                    display,
                    sha256,
                    json,
                },
            );
        }
        Ok((specs, keys))
    }

    /// The document at `file`.
    pub(crate) fn doc(&self, file: &Path) -> &Doc {
        &self.docs[file]
    }

    /// Resolves `reference` written in `from`: the file it points into and
    /// the JSON pointer inside that file.
    pub(crate) fn resolve(
        &self,
        from: &Path,
        reference: &str,
    ) -> Result<(PathBuf, String), String> {
        let (file, pointer) = split_ref(reference);
        let target = if file.is_empty() {
            from.to_path_buf()
        } else {
            canonical(&from.parent().unwrap_or(Path::new(".")).join(file))?
        };
        if !self.docs.contains_key(&target) {
            return Err(format!(
                "`$ref` {reference} names a file that was not loaded"
            ));
        }
        Ok((target, pointer.to_string()))
    }

    /// The value a resolved reference points at.
    pub(crate) fn get(&self, file: &Path, pointer: &str) -> Result<&Value, String> {
        self.docs[file]
            .json
            .pointer(pointer)
            .ok_or_else(|| format!("{}: nothing at `#{pointer}`", self.docs[file].display))
    }
}

/// `a.json#/definitions/X` -> (`a.json`, `/definitions/X`).
fn split_ref(reference: &str) -> (&str, &str) {
    match reference.split_once('#') {
        Some((file, pointer)) => (file, pointer),
        None => (reference, ""),
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    // Examples are documentation, never read by the generator.
                    ("x-ms-examples", _) => {}
                    ("$ref", Value::String(s)) => out.push(s.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn canonical(path: &Path) -> Result<PathBuf, String> {
    std::fs::canonicalize(path).map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// `path` relative to `root` with forward slashes, or as given when outside it.
pub(crate) fn display_path(root: &Path, path: &Path) -> String {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let Ok(shown) = path.strip_prefix(&root) else {
        return path.to_string_lossy().into_owned();
    };
    shown
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
