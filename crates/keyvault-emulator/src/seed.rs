//! Seeding and export: the document that `--import FILE` loads at start-up
//! and `GET /_emulator/export` answers. It names each vault and HSM and
//! holds their secrets (every version, attributes, tags, deletion state),
//! keys (with their material), custom role definitions, role assignments and
//! settings that differ from their defaults, with the REST API's field names
//! and Unix times in seconds.
//!
//! An import is checked whole before anything is written: a bad entry is an
//! error that names it by its path in the document, and nothing is imported.
//! Then every change is committed in one transaction per store (one in all
//! today) and only then applied in memory. The file wins for what it names:
//! an object, version, role, assignment or setting that it names is made as
//! it says (times it leaves out keep their stored values), and what it does
//! not name is left alone. Importing a file a store already holds changes
//! nothing, so `--import` with `--data-dir` is idempotent across restarts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::admin::Admin;
use crate::error::{Error, ErrorKind};
use crate::hsm::Hsm;
use crate::hsm::keys::{self, KeyVersion};
use crate::hsm::rbac::{self, Permission, RoleAssignment, RoleDefinition};
use crate::hsm::settings;
use crate::objects::request::{MAX_TAG_NAME, MAX_TAG_VALUE, MAX_TAGS, valid_name};
use crate::objects::{Attributes, Collection, Deletion, Staged, Stored, Versioned};
use crate::store::{Batch, Op, Store, Table, encode};
use crate::vault::Vault;
use crate::vault::model::{MAX_VALUE_BYTES, StoredVersion};

/// The largest import file, in bytes.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The whole document: vaults and HSMs by name.
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Document {
    #[serde(default)]
    vaults: BTreeMap<String, VaultDoc>,
    #[serde(default)]
    hsms: BTreeMap<String, HsmDoc>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VaultDoc {
    #[serde(default)]
    secrets: Vec<ObjectDoc<SecretVersionDoc>>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HsmDoc {
    #[serde(default)]
    keys: Vec<ObjectDoc<KeyVersionDoc>>,
    #[serde(default)]
    role_definitions: Vec<RoleDefinitionDoc>,
    #[serde(default)]
    role_assignments: Vec<RoleAssignmentDoc>,
    #[serde(default)]
    settings: Vec<SettingDoc>,
}

/// A secret or a key: its versions, the latest last.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ObjectDoc<V> {
    name: String,
    versions: Vec<V>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deleted: Option<DeletedDoc>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeletedDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deleted_date: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scheduled_purge_date: Option<i64>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AttributesDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SecretVersionDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    attributes: AttributesDoc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    managed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_version: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyVersionDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    key: JwkDoc,
    /// Base64 of the PKCS#8 DER private key (RSA, EC) or of the raw key (oct).
    private_key: String,
    #[serde(default)]
    attributes: AttributesDoc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tags: Option<BTreeMap<String, String>>,
}

/// The public JSON web key, as a key bundle shows it (without `kid`).
#[derive(Serialize, Deserialize)]
struct JwkDoc {
    kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_ops: Option<Vec<String>>,
    #[serde(flatten)]
    public: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RoleDefinitionDoc {
    name: String,
    properties: RoleDefinitionProperties,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RoleDefinitionProperties {
    #[serde(default)]
    role_name: String,
    #[serde(default)]
    description: String,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(default)]
    permissions: Vec<Permission>,
    #[serde(default)]
    assignable_scopes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RoleAssignmentDoc {
    name: String,
    properties: RoleAssignmentProperties,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RoleAssignmentProperties {
    #[serde(default = "root_scope")]
    scope: String,
    role_definition_id: String,
    principal_id: String,
}

fn root_scope() -> String {
    "/".into()
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingDoc {
    name: String,
    value: String,
    /// As `GET /settings` shows it; not imported.
    #[serde(default, rename = "type", skip_serializing)]
    _kind: serde::de::IgnoredAny,
}

/// Where an import comes from (its `Debug` never shows the document, which
/// holds secret values).
#[derive(Clone)]
pub(crate) enum Source {
    File(PathBuf),
    Json(Arc<str>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(path) => f.debug_tuple("File").field(path).finish(),
            Source::Json(text) => write!(f, "Json(<{} bytes>)", text.len()),
        }
    }
}

impl Source {
    /// Reads and parses the document.
    pub(crate) fn load(&self) -> Result<Document, Error> {
        match self {
            Source::Json(text) => parse(text),
            Source::File(path) => {
                let shown = path.display();
                let io = |e| Error::with_source(ErrorKind::Io, format!("cannot read {shown}"), e);
                let size = std::fs::metadata(path).map_err(io)?.len();
                if size > MAX_FILE_BYTES {
                    return Err(config(format!(
                        "{shown}: {size} bytes is too large to import (at most {MAX_FILE_BYTES})"
                    )));
                }
                let text = std::fs::read_to_string(path).map_err(io)?;
                parse(&text).map_err(|e| self.locate(e))
            }
        }
    }

    /// Names the file in a bad file's error.
    fn locate(&self, e: Error) -> Error {
        match self {
            Source::File(path) if e.is_config() => config(format!("{}: {e}", path.display())),
            _ => e,
        }
    }
}

fn config(message: String) -> Error {
    Error::new(ErrorKind::Config, message)
}

/// Parses a document; an error names the path of the bad field.
pub(crate) fn parse(text: &str) -> Result<Document, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let doc = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        match path.as_str() {
            "." => config(format!("not an import document: {}", e.inner())),
            _ => config(format!("{path}: {}", e.into_inner())),
        }
    })?;
    de.end()
        .map_err(|e| config(format!("not an import document: {e}")))?;
    Ok(doc)
}

/// A bad entry: `{path}: {message}`.
fn bad(path: &str, message: impl std::fmt::Display) -> Error {
    config(format!("{path}: {message}"))
}

/// The services of one emulator, by name.
#[derive(Debug, Clone)]
pub(crate) struct Services {
    pub(crate) vaults: Vec<(String, Arc<Vault>)>,
    pub(crate) hsms: Vec<(String, Arc<Hsm>)>,
}

fn find<'a, T>(list: &'a [(String, Arc<T>)], what: &str, name: &str) -> Result<&'a T, Error> {
    match list.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        Some((_, s)) => Ok(s),
        None => {
            let known: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
            Err(bad(
                &format!("{what}s.{name}"),
                format!("no {what} of that name (known: {})", known.join(", ")),
            ))
        }
    }
}

/// A version checked and converted, with the times the document gave.
struct Version<V> {
    v: V,
    created: Option<i64>,
    updated: Option<i64>,
}

/// A secret or key checked and converted.
struct Object<V> {
    name: String,
    versions: Vec<Version<V>>,
    deleted: Option<(Option<i64>, Option<i64>)>,
}

/// What secrets and keys share for import and export: their attributes.
trait Seeded: Versioned + PartialEq {
    fn attributes(&self) -> &Attributes;
    fn attributes_mut(&mut self) -> &mut Attributes;
}

macro_rules! seeded {
    ($($t:ty),*) => {$(
        impl Seeded for $t {
            fn attributes(&self) -> &Attributes {
                &self.attributes
            }
            fn attributes_mut(&mut self) -> &mut Attributes {
                &mut self.attributes
            }
        }
    )*};
}

seeded!(StoredVersion, KeyVersion);

/// Checks a time field (Unix seconds, not negative).
fn time(path: &str, field: &str, t: Option<i64>) -> Result<Option<i64>, Error> {
    match t {
        Some(t) if t < 0 => Err(bad(
            &format!("{path}.{field}"),
            "must be a Unix time in seconds, not negative",
        )),
        _ => Ok(t),
    }
}

/// Checked attributes, with `created` and `updated` (as the document gives
/// them) still to be filled in.
type Times = (Option<i64>, Option<i64>);

fn attributes(path: &str, a: &AttributesDoc) -> Result<(Attributes, Times), Error> {
    let path = format!("{path}.attributes");
    let attributes = Attributes {
        enabled: a.enabled.unwrap_or(true),
        nbf: time(&path, "nbf", a.nbf)?,
        exp: time(&path, "exp", a.exp)?,
        created: 0,
        updated: 0,
    };
    let created = time(&path, "created", a.created)?;
    Ok((attributes, (created, time(&path, "updated", a.updated)?)))
}

impl<V> Version<V> {
    fn new(v: V, (created, updated): Times) -> Self {
        Self {
            v,
            created,
            updated,
        }
    }
}

fn check_tags(path: &str, tags: Option<&BTreeMap<String, String>>) -> Result<(), Error> {
    let Some(tags) = tags else { return Ok(()) };
    let path = format!("{path}.tags");
    if tags.len() > MAX_TAGS {
        return Err(bad(
            &path,
            format!("at most {MAX_TAGS} tags, not {}", tags.len()),
        ));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > MAX_TAG_NAME {
            return Err(bad(
                &path,
                format!("tag names are 1 to {MAX_TAG_NAME} characters"),
            ));
        }
        if v.chars().count() > MAX_TAG_VALUE {
            let message = format!("longer than {MAX_TAG_VALUE} characters");
            return Err(bad(&format!("{path}.{k}"), message));
        }
    }
    Ok(())
}

/// A version id: 32 hex digits (lower case), or one derived from the
/// object's name and the version's place, so that the same file gives the
/// same ids on every import.
fn version_id(path: &str, given: Option<&str>, name: &str, index: usize) -> Result<String, Error> {
    match given {
        Some(v) if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(v.to_ascii_lowercase())
        }
        Some(_) => Err(bad(&format!("{path}.version"), "must be 32 hex digits")),
        None => {
            use sha2::Digest;
            let seed = format!("import:{}:{index}", name.to_ascii_lowercase());
            let h = sha2::Sha256::digest(seed.as_bytes());
            Ok(h[..16].iter().map(|b| format!("{b:02x}")).collect())
        }
    }
}

/// Checks the objects of one collection: names valid and unique, versions
/// unique, and each version by `version` (given its path, the object's name
/// and its place).
fn objects<D, V: Seeded>(
    path: &str,
    noun: &str,
    docs: Vec<ObjectDoc<D>>,
    mut version: impl FnMut(&str, &str, usize, D) -> Result<Version<V>, Error>,
) -> Result<Vec<Object<V>>, Error> {
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for (i, o) in docs.into_iter().enumerate() {
        let path = format!("{path}[{i}]");
        if !valid_name(&o.name) {
            let message = format!(
                "the {noun} name '{}' is invalid: names are 1 to 127 characters of 0-9, a-z, A-Z and '-'",
                o.name
            );
            return Err(bad(&format!("{path}.name"), message));
        }
        if !names.insert(o.name.to_ascii_lowercase()) {
            let message = format!("the {noun} '{}' appears twice", o.name);
            return Err(bad(&format!("{path}.name"), message));
        }
        if o.versions.is_empty() {
            return Err(bad(
                &format!("{path}.versions"),
                "needs at least one version",
            ));
        }
        let mut ids = BTreeSet::new();
        let mut versions = Vec::new();
        for (j, d) in o.versions.into_iter().enumerate() {
            let vpath = format!("{path}.versions[{j}]");
            let v = version(&vpath, &o.name, j, d)?;
            if !ids.insert(v.v.id().to_owned()) {
                let message = format!("the version {} appears twice", v.v.id());
                return Err(bad(&format!("{vpath}.version"), message));
            }
            versions.push(v);
        }
        let deleted = match o.deleted {
            None => None,
            Some(d) => {
                let dpath = format!("{path}.deleted");
                let date = time(&dpath, "deletedDate", d.deleted_date)?;
                let purge = time(&dpath, "scheduledPurgeDate", d.scheduled_purge_date)?;
                Some((date, purge))
            }
        };
        out.push(Object {
            name: o.name,
            versions,
            deleted,
        });
    }
    Ok(out)
}

fn secret_version(
    path: &str,
    name: &str,
    index: usize,
    d: SecretVersionDoc,
) -> Result<Version<StoredVersion>, Error> {
    if d.value.len() > MAX_VALUE_BYTES {
        let message = format!(
            "{} bytes is too large (at most {MAX_VALUE_BYTES})",
            d.value.len()
        );
        return Err(bad(&format!("{path}.value"), message));
    }
    check_tags(path, d.tags.as_ref())?;
    let (attributes, times) = attributes(path, &d.attributes)?;
    let v = StoredVersion {
        version: version_id(path, d.version.as_deref(), name, index)?,
        value: d.value,
        content_type: d.content_type,
        tags: d.tags,
        attributes,
        kid: d.kid,
        managed: d.managed,
        previous_version: d.previous_version,
    };
    Ok(Version::new(v, times))
}

fn key_version(
    path: &str,
    name: &str,
    index: usize,
    d: KeyVersionDoc,
) -> Result<Version<KeyVersion>, Error> {
    check_tags(path, d.tags.as_ref())?;
    let kpath = format!("{path}.key");
    if !["RSA-HSM", "EC-HSM", "oct-HSM"].contains(&d.key.kty.as_str()) {
        let message = "the key type must be RSA-HSM, EC-HSM or oct-HSM";
        return Err(bad(&format!("{kpath}.kty"), message));
    }
    let key_ops = match d.key.key_ops {
        Some(ops) => ops,
        None => keys::default_ops(&d.key.kty),
    };
    if let Some((i, op)) = key_ops
        .iter()
        .enumerate()
        .find(|(_, o)| !keys::is_key_op(o))
    {
        return Err(bad(
            &format!("{kpath}.key_ops[{i}]"),
            format!("'{op}' is not a key operation"),
        ));
    }
    let ppath = format!("{path}.privateKey");
    let raw = STANDARD
        .decode(&d.private_key)
        .map_err(|_| bad(&ppath, "must be base64"))?;
    let public = keys::public_of(&d.key.kty, &raw).map_err(|e| bad(&ppath, e))?;
    for (k, v) in &d.key.public {
        let message = match public.get(k) {
            Some(derived) if derived == v => continue,
            Some(_) => "does not match the private key".to_owned(),
            None => format!("is not a member of a public {} key", d.key.kty),
        };
        return Err(bad(&format!("{kpath}.{k}"), message));
    }
    let (attributes, times) = attributes(path, &d.attributes)?;
    let v = KeyVersion {
        version: version_id(path, d.version.as_deref(), name, index)?,
        kty: d.key.kty,
        key_ops,
        public,
        private: STANDARD.encode(raw),
        attributes,
        tags: d.tags,
    };
    Ok(Version::new(v, times))
}

/// Checks the name of the role definition or assignment (`what`) at `path`:
/// a GUID, not one of `seen`.
fn check_guid<'a>(
    path: &str,
    what: &str,
    name: &str,
    mut seen: impl Iterator<Item = &'a str>,
) -> Result<(), Error> {
    let path = format!("{path}.name");
    if !rbac::is_guid(name) {
        return Err(bad(&path, format!("'{name}' is not a GUID")));
    }
    if seen.any(|o| o.eq_ignore_ascii_case(name)) {
        return Err(bad(&path, format!("the {what} {name} appears twice")));
    }
    Ok(())
}

/// An HSM's checked document.
struct HsmPlan<'h> {
    hsm: &'h Hsm,
    keys: Vec<Object<KeyVersion>>,
    definitions: Vec<RoleDefinition>,
    assignments: Vec<RoleAssignment>,
    settings: Vec<(&'static str, String)>,
}

fn hsm_plan<'h>(path: &str, hsm: &'h Hsm, doc: HsmDoc) -> Result<HsmPlan<'h>, Error> {
    let keys = objects(&format!("{path}.keys"), "key", doc.keys, key_version)?;
    let mut definitions: Vec<RoleDefinition> = Vec::new();
    for (i, d) in doc.role_definitions.into_iter().enumerate() {
        let path = format!("{path}.roleDefinitions[{i}]");
        let name = d.name.as_str();
        let seen = definitions.iter().map(|d| &*d.name);
        check_guid(&path, "role definition", name, seen)?;
        if rbac::built_in()
            .iter()
            .any(|b| b.name.eq_ignore_ascii_case(name))
        {
            let message = format!("{name} is a built-in role; only custom roles are imported");
            return Err(bad(&format!("{path}.name"), message));
        }
        let body = json!({"properties": d.properties}).to_string();
        let parsed = rbac::parse_definition(body.as_bytes(), name, None)
            .map_err(|e| bad(&format!("{path}.properties"), e.message))?;
        definitions.push(parsed);
    }
    let stored = hsm.lock().definitions.clone();
    let mut assignments: Vec<RoleAssignment> = Vec::new();
    for (i, a) in doc.role_assignments.into_iter().enumerate() {
        let path = format!("{path}.roleAssignments[{i}]");
        let (name, ppath) = (a.name.as_str(), format!("{path}.properties"));
        let seen = assignments.iter().map(|a| &*a.name);
        check_guid(&path, "role assignment", name, seen)?;
        let scope = rbac::normalize_scope(&a.properties.scope)
            .map_err(|e| bad(&format!("{ppath}.scope"), e.message))?;
        let body = json!({"properties": a.properties}).to_string();
        let new = rbac::parse_assignment(body.as_bytes()).map_err(|e| bad(&ppath, e.message))?;
        let role = (rbac::built_in().into_iter())
            .chain(definitions.iter().cloned())
            .chain(stored.values().cloned())
            .find(|d| d.name.eq_ignore_ascii_case(&new.role))
            .ok_or_else(|| {
                let message = format!("the role definition {} does not exist", new.role);
                bad(&format!("{ppath}.roleDefinitionId"), message)
            })?;
        rbac::check_assignable(&role, &scope).map_err(|e| bad(&ppath, e.message))?;
        assignments.push(RoleAssignment {
            name: name.to_owned(),
            scope,
            role: new.role,
            principal_id: new.principal_id,
        });
    }
    let mut settings: Vec<(&'static str, String)> = Vec::new();
    for (i, s) in doc.settings.into_iter().enumerate() {
        let path = format!("{path}.settings[{i}]");
        let (name, value) =
            settings::check_setting(&s.name, &s.value).map_err(|e| bad(&path, e.message))?;
        if settings.iter().any(|(n, _)| *n == name) {
            return Err(bad(
                &format!("{path}.name"),
                format!("the setting {name} appears twice"),
            ));
        }
        settings.push((name, value));
    }
    Ok(HsmPlan {
        hsm,
        keys,
        definitions,
        assignments,
        settings,
    })
}

/// Stages `objects` over what `collection` holds (the document wins for
/// what it names); objects that would not change are left out.
fn stage_objects<'c, V: Seeded>(
    collection: &'c Collection<V>,
    batch: &mut Batch,
    objects: Vec<Object<V>>,
) -> Result<Staged<'c, V>, Error> {
    let (now, retention) = (collection.clock().now(), &collection.retention);
    let mut staged = collection.stage();
    for o in objects {
        let existing = staged.existing(&o.name);
        let mut s = existing.clone().unwrap_or_else(|| Stored::new(&o.name));
        s.name = o.name;
        for Version {
            mut v,
            created,
            updated,
        } in o.versions
        {
            let old = s.versions.get(v.id());
            let created = created.or(old.map(|o| o.attributes().created));
            let created = created.unwrap_or(now);
            let updated = updated.or(old.map(|o| o.attributes().updated));
            let updated = updated.unwrap_or(created);
            (v.attributes_mut().created, v.attributes_mut().updated) = (created, updated);
            s.latest = v.id().to_owned();
            s.versions.insert(s.latest.clone(), v);
        }
        let before = existing.as_ref().and_then(|e| e.deleted);
        s.deleted = o.deleted.map(|(date, purge)| {
            let date = date.or(before.map(|d| d.deleted_date)).unwrap_or(now);
            let default = Deletion::at(date, retention).scheduled_purge_date;
            let kept = before.filter(|d| d.deleted_date == date);
            Deletion {
                deleted_date: date,
                scheduled_purge_date: purge
                    .or(kept.map(|d| d.scheduled_purge_date))
                    .unwrap_or(default),
            }
        });
        if existing.as_ref() != Some(&s) {
            staged.put(batch, s).map_err(|e| config(e.message))?;
        }
    }
    Ok(staged)
}

/// The records of one HSM table that an import changes.
struct Changes<'b> {
    batch: &'b mut Batch,
    store: &'b Arc<Store>,
}

impl Changes<'_> {
    /// Stages the records of `new` that differ from those in `current`, and
    /// answers them.
    fn of<T: Serialize + PartialEq>(
        &mut self,
        table: Table,
        current: &BTreeMap<String, T>,
        new: impl Iterator<Item = (String, T)>,
    ) -> Result<Vec<(String, T)>, Error> {
        let mut out = Vec::new();
        for (key, v) in new.filter(|(k, v)| current.get(k) != Some(v)) {
            let record = encode(&v).map_err(|e| config(e.message))?;
            (self.batch).push(self.store, Op::Put(table, key.clone(), record));
            out.push((key, v));
        }
        Ok(out)
    }
}

/// Imports `doc` into `services`: checks all of it, then commits every
/// change at once and applies it. On any error nothing is imported.
pub(crate) fn import(doc: Document, services: &Services) -> Result<(), Error> {
    let mut vaults = Vec::new();
    for (name, v) in doc.vaults {
        let vault = find(&services.vaults, "vault", &name)?;
        let path = format!("vaults.{name}.secrets");
        let secrets = objects(&path, "secret", v.secrets, secret_version)?;
        vaults.push((vault, secrets));
    }
    let mut hsms = Vec::new();
    for (name, h) in doc.hsms {
        let hsm = find(&services.hsms, "hsm", &name)?;
        hsms.push(hsm_plan(&format!("hsms.{name}"), hsm, h)?);
    }

    let mut batch = Batch::default();
    let mut staged_secrets = Vec::new();
    for (vault, secrets) in vaults {
        staged_secrets.push(stage_objects(&vault.secrets, &mut batch, secrets)?);
    }
    let mut staged_hsms = Vec::new();
    for plan in hsms {
        // The right to write the state before the keys, as everywhere else.
        let writing = plan.hsm.lock_writes();
        let staged = stage_objects(&plan.hsm.keys, &mut batch, plan.keys)?;
        let state = plan.hsm.lock();
        let mut changes = Changes {
            batch: &mut batch,
            store: &plan.hsm.store,
        };
        let definitions = plan.definitions.into_iter();
        let definitions = definitions.map(|d| (d.name.to_ascii_lowercase(), d));
        let definitions =
            changes.of(plan.hsm.tables.definitions, &state.definitions, definitions)?;
        let assignments = plan.assignments.into_iter();
        let assignments = assignments.map(|a| (a.name.to_ascii_lowercase(), a));
        let assignments =
            changes.of(plan.hsm.tables.assignments, &state.assignments, assignments)?;
        let settings = plan.settings.into_iter().map(|(n, v)| (n.to_owned(), v));
        let settings = changes.of(plan.hsm.tables.settings, &state.settings, settings)?;
        drop(state);
        let hsm = plan.hsm;
        staged_hsms.push(move || {
            let _writing = writing;
            let mut state = hsm.lock();
            state.definitions.extend(definitions);
            state.assignments.extend(assignments);
            state.settings.extend(settings);
            staged.apply();
        });
    }
    let changes = batch.len();
    batch.commit()?;
    staged_secrets.into_iter().for_each(Staged::apply);
    staged_hsms.into_iter().for_each(|apply| apply());
    tracing::info!(changes, "imported");
    Ok(())
}

/// The attributes as the document shows them.
fn attributes_doc(a: &Attributes) -> AttributesDoc {
    AttributesDoc {
        enabled: Some(a.enabled),
        nbf: a.nbf,
        exp: a.exp,
        created: Some(a.created),
        updated: Some(a.updated),
    }
}

/// The objects of a collection, by name, with their versions in the order
/// they were made and the latest last.
fn objects_doc<V: Seeded, D>(
    all: BTreeMap<String, Stored<V>>,
    version: impl Fn(&V) -> D,
) -> Vec<ObjectDoc<D>> {
    all.into_values()
        .map(|s| {
            let mut versions: Vec<&V> = s.versions.iter().map(|(_, v)| v).collect();
            versions.sort_by_key(|v| {
                (
                    v.id() == s.latest,
                    v.attributes().created,
                    v.id().to_owned(),
                )
            });
            ObjectDoc {
                versions: versions.into_iter().map(&version).collect(),
                name: s.name.clone(),
                deleted: s.deleted.map(|d| DeletedDoc {
                    deleted_date: Some(d.deleted_date),
                    scheduled_purge_date: Some(d.scheduled_purge_date),
                }),
            }
        })
        .collect()
}

/// The document of the current state of `services`, deleted objects
/// included.
pub(crate) fn export(services: &Services) -> Document {
    let vaults = services.vaults.iter().map(|(name, vault)| {
        let secrets = objects_doc(vault.secrets.snapshot(), |v: &StoredVersion| {
            SecretVersionDoc {
                version: Some(v.version.clone()),
                value: v.value.clone(),
                content_type: v.content_type.clone(),
                tags: v.tags.clone(),
                attributes: attributes_doc(&v.attributes),
                kid: v.kid.clone(),
                managed: v.managed,
                previous_version: v.previous_version.clone(),
            }
        });
        (name.clone(), VaultDoc { secrets })
    });
    let hsms = services.hsms.iter().map(|(name, hsm)| {
        let snapshot = hsm.snapshot();
        let keys = objects_doc(snapshot.keys, |v: &KeyVersion| KeyVersionDoc {
            version: Some(v.version.clone()),
            key: JwkDoc {
                kty: v.kty.clone(),
                key_ops: Some(v.key_ops.clone()),
                public: v.public.clone(),
            },
            private_key: v.private.clone(),
            attributes: attributes_doc(&v.attributes),
            tags: v.tags.clone(),
        });
        let state = snapshot.state;
        let role_definitions = (state.definitions.into_values())
            .map(|d| RoleDefinitionDoc {
                name: d.name,
                properties: RoleDefinitionProperties {
                    role_name: d.role_name,
                    description: d.description,
                    kind: None,
                    permissions: d.permissions,
                    assignable_scopes: d.assignable_scopes,
                },
            })
            .collect();
        let role_assignments = (state.assignments.into_values())
            .map(|a| RoleAssignmentDoc {
                name: a.name,
                properties: RoleAssignmentProperties {
                    scope: a.scope,
                    role_definition_id: format!("{}{}", rbac::DEFINITION_ID_PREFIX, a.role),
                    principal_id: a.principal_id,
                },
            })
            .collect();
        let settings = (state.settings.into_iter())
            .filter(|(n, v)| !settings::is_default(n, v))
            .map(|(name, value)| SettingDoc {
                name,
                value,
                _kind: serde::de::IgnoredAny,
            })
            .collect();
        let doc = HsmDoc {
            keys,
            role_definitions,
            role_assignments,
            settings,
        };
        (name.clone(), doc)
    });
    Document {
        vaults: vaults.collect(),
        hsms: hsms.collect(),
    }
}

/// Imports what `source` holds into `services`, then makes `admin` answer
/// `GET /_emulator/export` with their document.
pub(crate) fn wire(
    source: Option<&Source>,
    admin: &Admin,
    services: Services,
) -> Result<(), Error> {
    if let Some(source) = source {
        import(source.load()?, &services).map_err(|e| source.locate(e))?;
    }
    admin.set_exporter(Box::new(move || {
        serde_json::to_value(export(&services)).unwrap_or(Value::Null)
    }));
    Ok(())
}

/// A vault and an HSM on one in-memory store (opened on the current Tokio
/// runtime), for tests and fuzzing.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn in_memory_services(store: &Arc<Store>) -> Services {
    use crate::clock::Clock;
    use crate::hsm::{HsmConfig, RbacMode};
    use crate::objects::Retention;

    let soft_delete = Retention {
        retention_days: 7,
        purge_protection: false,
    };
    let (rbac, admins, storage) = (RbacMode::Off, Vec::new(), Default::default());
    let config = HsmConfig {
        soft_delete,
        rbac,
        admins,
        storage,
    };
    let name = crate::DEFAULT_NAME;
    let vault = Vault::open(name, store.clone(), Clock::new(), soft_delete, [0; 32]);
    let hsm = Hsm::open(name, store.clone(), Clock::new(), config, [0; 32]);
    Services {
        vaults: vec![(name.to_owned(), vault.unwrap())],
        hsms: vec![(name.to_owned(), hsm.unwrap())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vault and an HSM on one in-memory store.
    pub(super) fn services(store: &Arc<Store>) -> Services {
        in_memory_services(store)
    }

    #[tokio::test]
    async fn an_import_that_cannot_be_stored_changes_nothing() {
        let store = Arc::new(Store::in_memory());
        let services = services(&store);
        let doc = || {
            let role = "0c0ffee0-1111-4222-8333-444455556666";
            parse(&json!({
                "vaults": {"emulator": {"secrets": [{"name": "s", "versions": [{"value": "v"}]}]}},
                "hsms": {"emulator": {
                    "settings": [{"name": "AllowKeyManagementOperationsThroughARM", "value": "TRUE"}],
                    "roleDefinitions": [{"name": role, "properties": {"roleName": "r"}}],
                    "roleAssignments": [{"name": role, "properties": {"roleDefinitionId": role, "principalId": "p"}}],
                }},
            }).to_string())
            .unwrap()
        };
        let empty = serde_json::to_value(export(&services)).unwrap();
        store.fail_commits(true);
        let e = import(doc(), &services).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Store);
        assert_eq!(serde_json::to_value(export(&services)).unwrap(), empty);
        store.fail_commits(false);
        import(doc(), &services).unwrap();
        let done = serde_json::to_value(export(&services)).unwrap();
        let hsm = &done["hsms"]["emulator"];
        assert_eq!(
            hsm["settings"][0]["value"], "true",
            "as the service spells it"
        );
        assert_eq!(hsm["roleAssignments"][0]["properties"]["scope"], "/");
        assert_eq!(done["vaults"]["emulator"]["secrets"][0]["name"], "s");
        // Nothing changes the second time: not even the stored records.
        store.fail_commits(true);
        import(doc(), &services).unwrap();
        assert_eq!(serde_json::to_value(export(&services)).unwrap(), done);
    }

    #[test]
    fn parse_errors_name_the_field() {
        let doc = r#"{"vaults": {"v": {"secrets": [{"name": "a", "versions": [
            {"value": "x", "attributes": {"exp": "soon"}}]}]}}}"#;
        let e = parse(doc).err().unwrap().to_string();
        assert!(
            e.starts_with("vaults.v.secrets[0].versions[0].attributes.exp: "),
            "{e}"
        );
        let e = parse(r#"{"vault": {}}"#).err().unwrap().to_string();
        assert!(e.contains("unknown field `vault`"), "{e}");
        let e = parse("{} {}").err().unwrap().to_string();
        assert!(e.starts_with("not an import document"), "{e}");
        assert!(parse("{}").is_ok());
    }

    #[test]
    fn generated_version_ids_are_stable() {
        let a = version_id("p", None, "Name", 1).unwrap();
        assert_eq!(a, version_id("p", None, "name", 1).unwrap());
        assert_ne!(a, version_id("p", None, "name", 2).unwrap());
        assert_eq!(a.len(), 32);
        let given = "ABCDEF0123456789abcdef0123456789";
        assert_eq!(
            version_id("p", Some(given), "n", 0).unwrap(),
            given.to_ascii_lowercase()
        );
        let e = version_id("p", Some("v1"), "n", 0).unwrap_err().to_string();
        assert_eq!(e, "p.version: must be 32 hex digits");
    }

    #[test]
    fn the_source_hides_the_document() {
        let shown = format!("{:?}", Source::Json("{\"value\":\"hunter2\"}".into()));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// An import document with secrets of made-up names, values, tags and
    /// dates, some of them out of the service's bounds.
    fn document() -> impl Strategy<Value = String> {
        let version = (
            "[ -~]{0,40}",
            prop::option::of("[a-z/]{0,12}"),
            prop::option::of(prop::collection::btree_map(
                "[a-z]{0,6}",
                "[a-z]{0,6}",
                0..3,
            )),
            prop::option::of(any::<bool>()),
            prop::option::of(-10i64..4_000_000_000),
        )
            .prop_map(|(value, content_type, tags, enabled, exp)| {
                json!({"value": value, "contentType": content_type, "tags": tags,
                       "attributes": {"enabled": enabled, "exp": exp}})
            });
        let secret = (
            "[a-zA-Z0-9-]{0,12}",
            prop::collection::vec(version, 0..3),
            any::<bool>(),
        )
            .prop_map(|(name, versions, deleted)| {
                let mut s = json!({"name": name, "versions": versions});
                if deleted {
                    s["deleted"] = json!({});
                }
                s
            });
        prop::collection::vec(secret, 0..4)
            .prop_map(|secrets| json!({"vaults": {"emulator": {"secrets": secrets}}}).to_string())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_text_parses_without_panicking(text in any::<String>()) {
            let _ = parse(&text);
        }

        #[test]
        fn json_like_text_parses_without_panicking(text in r#"[{}\[\]":, a-z0-9]{0,100}"#) {
            let _ = parse(&format!(r#"{{"vaults": {{"emulator": {text}}}}}"#));
        }

        #[test]
        fn an_import_is_all_or_nothing_and_its_export_reads_back(text in document()) {
            // The services start their timers on the runtime they are opened in.
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let _entered = runtime.enter();
            let store = Arc::new(Store::in_memory());
            let services = tests::services(&store);
            let Ok(doc) = parse(&text) else {
                return Ok(());
            };
            let before = serde_json::to_value(export(&services)).unwrap();
            match import(doc, &services) {
                Err(_) => {
                    let after = serde_json::to_value(export(&services)).unwrap();
                    prop_assert_eq!(after, before);
                }
                Ok(()) => {
                    let exported = serde_json::to_string(&export(&services)).unwrap();
                    let again = tests::services(&Arc::new(Store::in_memory()));
                    import(parse(&exported).unwrap(), &again).unwrap();
                    let twice = serde_json::to_string(&export(&again)).unwrap();
                    prop_assert_eq!(twice, exported);
                }
            }
        }
    }
}
