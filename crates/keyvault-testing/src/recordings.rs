//! Reads recorded Key Vault traffic (the JSON recordings of the C++ and Java
//! test recorders, and the YAML cassettes of the Python one) into one list
//! of calls.
//!
//! Used by the recorded-traffic tests of the service crates and by xtask's
//! own tests. YAML is read just far enough for those cassettes: the method,
//! URI, request body, status code and response body of each interaction.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One recorded HTTP exchange.
#[derive(Clone, Debug)]
pub struct Call {
    /// The recording file and the position of the call in it (`file#3`).
    pub source: String,
    /// The HTTP method.
    pub method: String,
    /// The full URL, as recorded.
    pub url: String,
    /// The request body, when one was recorded.
    pub request_body: Option<String>,
    /// The response status.
    pub status: u16,
    /// The response body, when there is one.
    pub response_body: Option<String>,
}

impl Call {
    /// The recording file the call comes from.
    pub fn file(&self) -> &str {
        self.source.split('#').next().unwrap_or_default()
    }
}

/// The recordings folder of the reference data; `None` (after a visible skip
/// note) when it is missing outside CI.
///
/// # Panics
/// When it is missing under CI (see [`reference::require`](crate::reference::require)).
pub fn dir() -> Option<PathBuf> {
    crate::reference::require("recordings")
}

/// Every call of every recording of the reference data; `None` as [`dir`]
/// says.
///
/// # Panics
/// As [`dir`] does, and when a recording cannot be read.
pub fn load_all() -> Option<Vec<Call>> {
    let dir = dir()?;
    Some(load(&dir).unwrap_or_else(|e| panic!("recordings do not load: {e}")))
}

/// Every call of every recording under `dir`, in a stable order.
///
/// # Errors
/// A recording cannot be read or is in no format this reader knows.
pub fn load(dir: &Path) -> Result<Vec<Call>, String> {
    let mut files = Vec::new();
    collect(dir, &mut files);
    files.sort();
    let mut calls = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let found = match file.extension().and_then(|e| e.to_str()) {
            Some("json") => from_json(&name, &text)?,
            Some("yaml" | "yml") => from_yaml(&name, &text)?,
            _ => continue,
        };
        calls.extend(found);
    }
    Ok(calls)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A body as text: JSON strings as they are, other JSON values serialized,
/// null and empty text as no body.
fn body(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn status(value: Option<&Value>) -> u16 {
    match value {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()).unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn from_json(name: &str, text: &str) -> Result<Vec<Call>, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| format!("{name}: {e}"))?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut calls = Vec::new();
    if let Some(records) = json.get("networkCallRecords").and_then(Value::as_array) {
        // Classic recorder: no request bodies; the response holds its
        // headers, status and body side by side.
        for (i, r) in records.iter().enumerate() {
            let response = r.get("Response").cloned().unwrap_or(Value::Null);
            let url = if r.get("Url").is_some() {
                s(r, "Url")
            } else {
                s(r, "Uri")
            };
            calls.push(Call {
                source: format!("{name}#{i}"),
                method: s(r, "Method"),
                url,
                request_body: body(r.get("Body")),
                status: status(
                    response
                        .get("STATUS_CODE")
                        .or_else(|| response.get("StatusCode")),
                ),
                response_body: body(response.get("BODY").or_else(|| response.get("Body"))),
            });
        }
    } else if let Some(entries) = json.get("Entries").and_then(Value::as_array) {
        // Test-proxy format.
        for (i, e) in entries.iter().enumerate() {
            calls.push(Call {
                source: format!("{name}#{i}"),
                method: s(e, "RequestMethod"),
                url: s(e, "RequestUri"),
                request_body: body(e.get("RequestBody")),
                status: status(e.get("StatusCode")),
                response_body: body(e.get("ResponseBody")),
            });
        }
    } else {
        return Err(format!("{name}: not a recording format this reader knows"));
    }
    Ok(calls)
}

/// The value of a YAML scalar that starts with `first` and may continue on
/// the following lines (single-quoted scalars fold their line breaks).
fn scalar<'a>(first: &str, lines: &mut impl Iterator<Item = &'a str>) -> Option<String> {
    let t = first.trim();
    if t.is_empty() || t == "null" || t == "~" {
        return None;
    }
    let Some(rest) = t.strip_prefix('\'') else {
        return Some(t.to_string());
    };
    let mut text = rest.to_string();
    loop {
        // The closing quote is a `'` not doubled.
        let mut chars = text.char_indices().peekable();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|&(_, n)| n) == Some('\'') {
                    chars.next();
                } else {
                    end = Some(i);
                    break;
                }
            }
        }
        if let Some(end) = end {
            return Some(text[..end].replace("''", "'"));
        }
        let next = lines.next()?;
        if next.trim().is_empty() {
            text.push('\n');
        } else {
            if !text.ends_with('\n') {
                text.push(' ');
            }
            text.push_str(next.trim());
        }
    }
}

fn from_yaml(name: &str, text: &str) -> Result<Vec<Call>, String> {
    let mut calls: Vec<Call> = Vec::new();
    let mut section = "";
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if trimmed == "- request:" && indent == 0 {
            calls.push(Call {
                source: format!("{name}#{}", calls.len()),
                method: String::new(),
                url: String::new(),
                request_body: None,
                status: 0,
                response_body: None,
            });
            section = "request";
            continue;
        }
        if trimmed == "response:" && indent == 2 {
            section = "response";
            continue;
        }
        let Some(call) = calls.last_mut() else {
            continue;
        };
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        match (section, indent, key) {
            ("request", 4, "body") => call.request_body = scalar(value, &mut lines),
            ("request", 4, "method") => call.method = value.trim().to_string(),
            ("request", 4, "uri") => call.url = value.trim().to_string(),
            ("response", 6, "string") => call.response_body = scalar(value, &mut lines),
            ("response", 6, "code") => call.status = value.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    if calls.iter().any(|c| c.method.is_empty() || c.status == 0) {
        return Err(format!("{name}: an interaction has no method or status"));
    }
    Ok(calls)
}

/// Differences between a recorded JSON body and our re-encoding of it, field
/// by field; a null on either side counts as absent.
pub fn compare(path: &str, recorded: &Value, ours: &Value, out: &mut Vec<String>) {
    match (recorded, ours) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let x = a.get(k).unwrap_or(&Value::Null);
                let y = b.get(k).unwrap_or(&Value::Null);
                compare(&format!("{path}.{k}"), x, y, out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: recorded {a}, re-encoded {b}")),
    }
}
