//! Stage 2, model: turn loaded specs into the items to emit, one module per
//! spec file. Everything here is sorted, so the output is deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::names;
use super::spec::Specs;

/// A Rust type of a field, parameter or response.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ty {
    String,
    Bool,
    I32,
    I64,
    F64,
    /// `format: unixtime`: seconds since the epoch on the wire.
    UnixTime,
    /// `format: date-time`: RFC 3339 on the wire.
    DateTime,
    /// `format: base64url`: bytes, base64url text on the wire.
    Bytes,
    /// Anything the generator does not model.
    Json,
    Vec(Box<Ty>),
    Map(Box<Ty>),
    Boxed(Box<Ty>),
    /// A generated struct or enum, in the module of `file`.
    Named {
        file: PathBuf,
        name: String,
        is_enum: bool,
    },
}

impl Ty {
    /// Types whose wire form needs a `#[serde(with)]` helper when nested in a
    /// container fall back to their plain wire type there.
    fn nested(self) -> Ty {
        match self {
            Ty::UnixTime => Ty::I64,
            Ty::DateTime | Ty::Bytes => Ty::String,
            other => other,
        }
    }
}

/// One generated struct.
#[derive(Debug)]
pub(crate) struct Struct {
    pub name: String,
    pub doc: String,
    pub fields: Vec<Field>,
}

/// One field of a generated struct.
#[derive(Debug)]
pub(crate) struct Field {
    pub rust_name: String,
    pub wire_name: String,
    pub doc: String,
    pub ty: Ty,
    pub required: bool,
    pub read_only: bool,
    pub sensitive: bool,
}

/// One generated extensible enum.
#[derive(Debug)]
pub(crate) struct Enum {
    pub name: String,
    pub doc: String,
    /// (Rust variant name, wire value, doc).
    pub variants: Vec<(String, String, String)>,
}

/// Where an operation parameter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    Path,
    Query,
    Header,
    Body,
}

/// One operation parameter (never `api-version`, which the pipeline adds).
#[derive(Debug)]
pub(crate) struct Param {
    pub rust_name: String,
    pub wire_name: String,
    pub location: Location,
    pub ty: Ty,
    pub required: bool,
    pub skip_encoding: bool,
    pub doc: String,
}

/// How much of an operation is emitted; each part comes with the ones
/// before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Part {
    /// The operation id, the name of its tracing span.
    Id,
    /// The request builder and the success statuses it sets (and, for a
    /// pageable operation, the page model, which the pager decodes).
    Request,
    /// The response decoder.
    Response,
}

/// One generated operation.
#[derive(Debug)]
pub(crate) struct Operation {
    /// What is emitted of it.
    pub part: Part,
    pub id: String,
    pub summary: String,
    pub description: String,
    pub method: String,
    pub path: String,
    pub base_url: String,
    pub params: Vec<Param>,
    pub success: Vec<u16>,
    pub response: Option<Ty>,
    /// `Some(final-state-via)` for a long-running operation.
    pub long_running: Option<String>,
    /// `Some(nextLinkName)` for a pageable operation.
    pub pageable: Option<Option<String>>,
    pub item_name: String,
}

/// A `Paged` implementation for a list-result model.
#[derive(Debug)]
pub(crate) struct PagedImpl {
    pub model: Ty,
    pub item: Ty,
    pub items_field: String,
    pub items_required: bool,
    pub next_field: Option<(String, bool)>,
}

/// Everything generated from one spec file.
#[derive(Debug)]
pub(crate) struct Module {
    pub file: PathBuf,
    pub name: String,
    pub spec: String,
    pub sha256: String,
    pub title: String,
    pub description: String,
    pub structs: Vec<Struct>,
    pub enums: Vec<Enum>,
    pub operations: Vec<Operation>,
    pub paged: Vec<PagedImpl>,
}

/// The generated code of one crate.
#[derive(Debug)]
pub(crate) struct Api {
    pub modules: Vec<Module>,
    /// Module name of each spec file.
    pub module_names: BTreeMap<PathBuf, String>,
    /// Structs that cannot derive `Default`.
    pub no_default: BTreeSet<(PathBuf, String)>,
}

/// Builds the model of every loaded file; operations come from `entries` only.
pub(crate) fn build(specs: &Specs, entries: &[PathBuf]) -> Result<Api, String> {
    let mut module_names = BTreeMap::new();
    let mut taken = BTreeSet::new();
    for path in specs.docs.keys() {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut name = names::snake(&stem).trim_start_matches("r#").to_string();
        if matches!(name.as_str(), "base64url" | "mod") {
            name.push_str("_spec");
        }
        while !taken.insert(name.clone()) {
            name.push('_');
        }
        module_names.insert(path.clone(), name);
    }
    let mut b = Builder {
        specs,
        inline_enums: BTreeMap::new(),
    };
    let mut modules = Vec::new();
    for (path, doc) in &specs.docs {
        let info = doc.json.get("info");
        let text = |k: &str| {
            info.and_then(|i| i.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let mut module = Module {
            file: path.clone(),
            name: module_names[path].clone(),
            spec: doc.display.clone(),
            sha256: doc.sha256.clone(),
            title: text("title"),
            description: text("description"),
            structs: Vec::new(),
            enums: Vec::new(),
            operations: Vec::new(),
            paged: Vec::new(),
        };
        if let Some(defs) = doc.json.get("definitions").and_then(Value::as_object) {
            for (name, schema) in defs {
                match kind(schema) {
                    Kind::Enum => module.enums.push(b.enumeration(name, schema)),
                    Kind::Struct => module.structs.push(b.structure(path, name, schema)?),
                    Kind::Inline => {}
                }
            }
        }
        if entries.contains(path) {
            module.operations = b.operations(path)?;
        }
        modules.push(module);
    }
    // Enums declared inline (a property or parameter with `x-ms-enum`).
    for ((file, _), e) in std::mem::take(&mut b.inline_enums) {
        let module = modules
            .iter_mut()
            .find(|m| m.file == file)
            .expect("module of a loaded file");
        if !module.enums.iter().any(|x| x.name == e.name) {
            module.enums.push(e);
        }
    }
    for module in &mut modules {
        module.structs.sort_by(|a, b| a.name.cmp(&b.name));
        module.enums.sort_by(|a, b| a.name.cmp(&b.name));
        module.operations.sort_by(|a, b| a.id.cmp(&b.id));
    }
    // Paged implementations, once per list-result model.
    let mut seen = BTreeSet::new();
    for i in 0..modules.len() {
        let mut paged = Vec::new();
        for op in &modules[i].operations {
            let (
                Some(next),
                Some(
                    ty @ Ty::Named {
                        file,
                        name,
                        is_enum: false,
                    },
                ),
            ) = (&op.pageable, &op.response)
            else {
                continue;
            };
            if !seen.insert((file.clone(), name.clone())) {
                continue;
            }
            let model = modules
                .iter()
                .find(|m| &m.file == file)
                .and_then(|m| m.structs.iter().find(|s| &s.name == name));
            let Some(model) = model else { continue };
            let Some(items) = model.fields.iter().find(|f| f.wire_name == op.item_name) else {
                return Err(format!(
                    "{}: `{name}` has no `{}` list for paging",
                    op.id, op.item_name
                ));
            };
            let Ty::Vec(item) = &items.ty else {
                return Err(format!(
                    "{}: `{name}.{}` is not a list",
                    op.id, op.item_name
                ));
            };
            let next_field = match next {
                None => None,
                Some(link) => {
                    let f = model
                        .fields
                        .iter()
                        .find(|f| &f.wire_name == link)
                        .ok_or_else(|| format!("{}: `{name}` has no next link `{link}`", op.id))?;
                    Some((f.rust_name.clone(), f.required))
                }
            };
            paged.push(PagedImpl {
                model: ty.clone(),
                item: (**item).clone(),
                items_field: items.rust_name.clone(),
                items_required: items.required,
                next_field,
            });
        }
        modules[i].paged = paged;
    }
    let no_default = no_default(&modules);
    Ok(Api {
        modules,
        module_names,
        no_default,
    })
}

impl Api {
    /// Keeps the operations `operations` names, with the part of each it
    /// names, and the models those parts and `models` reach; drops the rest.
    ///
    /// # Errors
    /// Fails on a name the specs do not define, so that a stale list is
    /// noticed.
    pub(crate) fn keep(
        &mut self,
        operations: &[(&str, Part)],
        models: &[&str],
    ) -> Result<(), String> {
        let mut wanted: BTreeMap<&str, Part> = operations.iter().copied().collect();
        let mut roots = Vec::new();
        for m in &mut self.modules {
            m.operations
                .retain_mut(|op| match wanted.remove(op.id.as_str()) {
                    Some(part) => {
                        op.part = part;
                        true
                    }
                    None => false,
                });
            for op in &m.operations {
                if op.part >= Part::Request {
                    op.params.iter().for_each(|p| named(&p.ty, &mut roots));
                }
                if op.part >= Part::Response || (op.part >= Part::Request && op.pageable.is_some())
                {
                    op.response.iter().for_each(|t| named(t, &mut roots));
                }
            }
        }
        if let Some(id) = wanted.keys().next() {
            return Err(format!("no operation `{id}` in the specs"));
        }
        for name in models {
            let m = self
                .modules
                .iter()
                .find(|m| {
                    m.structs.iter().any(|s| s.name == *name)
                        || m.enums.iter().any(|e| e.name == *name)
                })
                .ok_or_else(|| format!("no model `{name}` in the specs"))?;
            roots.push((m.file.clone(), name.to_string()));
        }
        let mut kept = BTreeSet::new();
        while let Some(key) = roots.pop() {
            if kept.contains(&key) {
                continue;
            }
            let fields = self
                .modules
                .iter()
                .filter(|m| m.file == key.0)
                .flat_map(|m| &m.structs)
                .filter(|s| s.name == key.1)
                .flat_map(|s| &s.fields);
            fields.for_each(|f| named(&f.ty, &mut roots));
            kept.insert(key);
        }
        for m in &mut self.modules {
            let is_kept = |name: &str| kept.contains(&(m.file.clone(), name.to_string()));
            m.structs.retain(|s| is_kept(&s.name));
            m.enums.retain(|e| is_kept(&e.name));
            m.paged
                .retain(|p| matches!(&p.model, Ty::Named { name, .. } if is_kept(name)));
        }
        Ok(())
    }
}

/// Pushes the generated types `ty` names onto `out`.
fn named(ty: &Ty, out: &mut Vec<(PathBuf, String)>) {
    match ty {
        Ty::Named { file, name, .. } => out.push((file.clone(), name.clone())),
        Ty::Vec(t) | Ty::Map(t) | Ty::Boxed(t) => named(t, out),
        _ => {}
    }
}

/// Structs whose required fields have no `Default` (time stamps, enums, or
/// structs that themselves have none).
fn no_default(modules: &[Module]) -> BTreeSet<(PathBuf, String)> {
    let mut out = BTreeSet::new();
    loop {
        let before = out.len();
        for m in modules {
            for s in &m.structs {
                let blocked = s.fields.iter().filter(|f| f.required).any(|f| match &f.ty {
                    Ty::UnixTime | Ty::DateTime => true,
                    Ty::Named { is_enum: true, .. } => true,
                    Ty::Named { file, name, .. } => out.contains(&(file.clone(), name.clone())),
                    _ => false,
                });
                if blocked {
                    out.insert((m.file.clone(), s.name.clone()));
                }
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

enum Kind {
    Struct,
    Enum,
    /// Used in place: primitives, maps, arrays.
    Inline,
}

fn kind(schema: &Value) -> Kind {
    let ty = schema.get("type").and_then(Value::as_str);
    if schema.get("enum").is_some() && matches!(ty, None | Some("string")) {
        Kind::Enum
    } else if schema.get("properties").is_some()
        || schema.get("allOf").is_some()
        || (ty == Some("object") && schema.get("additionalProperties").is_none())
    {
        Kind::Struct
    } else {
        Kind::Inline
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn doc_of(v: &Value) -> String {
    let d = str_of(v, "description");
    if d.is_empty() {
        str_of(v, "title").to_string()
    } else {
        d.to_string()
    }
}

struct Builder<'a> {
    specs: &'a Specs,
    inline_enums: BTreeMap<(PathBuf, String), Enum>,
}

impl Builder<'_> {
    fn enumeration(&self, name: &str, schema: &Value) -> Enum {
        let ext = schema.get("x-ms-enum");
        let name = ext
            .map(|e| str_of(e, "name"))
            .filter(|n| !n.is_empty())
            .unwrap_or(name);
        let mut variants = Vec::new();
        let mut taken = BTreeSet::from(["Unknown".to_string()]);
        let described: Vec<&Value> = ext
            .and_then(|e| e.get("values"))
            .and_then(Value::as_array)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        let values: Vec<String> = schema
            .get("enum")
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .map(|x| match x {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        for value in values {
            let d = described
                .iter()
                .find(|d| d.get("value").and_then(Value::as_str) == Some(value.as_str()));
            let label = d
                .map(|d| str_of(d, "name"))
                .filter(|n| !n.is_empty())
                .unwrap_or(&value);
            let mut rust = names::pascal(label);
            while !taken.insert(rust.clone()) {
                rust.push('_');
            }
            let doc = d
                .map(|d| str_of(d, "description"))
                .unwrap_or("")
                .to_string();
            variants.push((rust, value, doc));
        }
        Enum {
            name: names::type_name(name),
            doc: doc_of(schema),
            variants,
        }
    }

    /// Properties of a struct, `allOf` parents first, each with the file its
    /// schema was written in.
    fn collect(
        &self,
        file: &Path,
        schema: &Value,
        out: &mut Vec<(PathBuf, String, Value)>,
        required: &mut BTreeSet<String>,
    ) -> Result<(), String> {
        for parent in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = parent.get("$ref").and_then(Value::as_str) {
                let (f, ptr) = self.specs.resolve(file, r)?;
                let def = self.specs.get(&f, &ptr)?;
                self.collect(&f, def, out, required)?;
            } else {
                self.collect(file, parent, out, required)?;
            }
        }
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = r.as_str() {
                required.insert(r.to_string());
            }
        }
        for (name, prop) in schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            out.retain(|(_, n, _)| n != name);
            out.push((file.to_path_buf(), name.clone(), prop.clone()));
        }
        Ok(())
    }

    fn structure(&mut self, file: &Path, name: &str, schema: &Value) -> Result<Struct, String> {
        let mut props = Vec::new();
        let mut required = BTreeSet::new();
        self.collect(file, schema, &mut props, &mut required)?;
        let rust_name = names::type_name(name);
        let owner = (file.to_path_buf(), rust_name.clone());
        let mut fields = Vec::new();
        let mut taken = BTreeSet::new();
        for (pfile, wire, prop) in props {
            let client = str_of(&prop, "x-ms-client-name");
            let mut rust = names::snake(if client.is_empty() { &wire } else { client });
            while !taken.insert(rust.clone()) {
                rust.push('_');
            }
            let ty = self.ty(&pfile, &prop, Some(&owner))?;
            let read_only = flag(&prop, "readOnly") || self.ref_flag(&pfile, &prop, "readOnly");
            fields.push(Field {
                rust_name: rust,
                doc: doc_of(&prop),
                ty,
                required: required.contains(&wire),
                read_only,
                sensitive: flag(&prop, "x-keyvault-sensitive"),
                wire_name: wire,
            });
        }
        Ok(Struct {
            name: rust_name,
            doc: doc_of(schema),
            fields,
        })
    }

    fn ref_flag(&self, file: &Path, prop: &Value, key: &str) -> bool {
        let Some(r) = prop.get("$ref").and_then(Value::as_str) else {
            return false;
        };
        self.specs
            .resolve(file, r)
            .ok()
            .and_then(|(f, p)| self.specs.get(&f, &p).ok().map(|v| flag(v, key)))
            .unwrap_or(false)
    }

    /// The type of `schema`, written in `file`.
    fn ty(
        &mut self,
        file: &Path,
        schema: &Value,
        owner: Option<&(PathBuf, String)>,
    ) -> Result<Ty, String> {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let (f, ptr) = self.specs.resolve(file, r)?;
            let def = self.specs.get(&f, &ptr)?;
            let name = ptr.rsplit('/').next().unwrap_or("");
            if !ptr.starts_with("/definitions/") {
                return self.ty(&f, def, owner);
            }
            return Ok(match kind(def) {
                Kind::Enum => {
                    let e = self.enumeration(name, def);
                    Ty::Named {
                        file: f,
                        name: e.name,
                        is_enum: true,
                    }
                }
                Kind::Struct => {
                    let ty = Ty::Named {
                        file: f.clone(),
                        name: names::type_name(name),
                        is_enum: false,
                    };
                    if owner == Some(&(f, names::type_name(name))) {
                        Ty::Boxed(Box::new(ty))
                    } else {
                        ty
                    }
                }
                Kind::Inline => self.ty(&f, def, owner)?,
            });
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array)
            && all.len() == 1
            && schema.get("properties").is_none()
        {
            return self.ty(file, &all[0], owner);
        }
        if let Some(values) = schema.get("enum") {
            let name = schema
                .get("x-ms-enum")
                .map(|e| str_of(e, "name"))
                .unwrap_or("");
            if name.is_empty() || !values.is_array() {
                return Ok(Ty::String);
            }
            let e = self.enumeration(name, schema);
            let ty = Ty::Named {
                file: file.to_path_buf(),
                name: e.name.clone(),
                is_enum: true,
            };
            let defined = self
                .specs
                .doc(file)
                .json
                .pointer(&format!("/definitions/{name}"))
                .is_some();
            if !defined {
                self.inline_enums
                    .entry((file.to_path_buf(), e.name.clone()))
                    .or_insert(e);
            }
            return Ok(ty);
        }
        let format = str_of(schema, "format");
        Ok(match str_of(schema, "type") {
            "string" => match format {
                "base64url" => Ty::Bytes,
                "date-time" | "date-time-rfc3339" => Ty::DateTime,
                _ => Ty::String,
            },
            "integer" => match format {
                "unixtime" => Ty::UnixTime,
                "int32" => Ty::I32,
                _ => Ty::I64,
            },
            "number" => Ty::F64,
            "boolean" => Ty::Bool,
            "array" => match schema.get("items") {
                Some(items) => Ty::Vec(Box::new(self.ty(file, items, None)?.nested())),
                None => Ty::Vec(Box::new(Ty::Json)),
            },
            _ => match schema.get("additionalProperties") {
                Some(Value::Object(ap)) if schema.get("properties").is_none() => Ty::Map(Box::new(
                    self.ty(file, &Value::Object(ap.clone()), None)?.nested(),
                )),
                Some(Value::Bool(true)) => Ty::Map(Box::new(Ty::Json)),
                _ => Ty::Json,
            },
        })
    }

    fn param(&mut self, file: &Path, raw: &Value) -> Result<(PathBuf, Value), String> {
        match raw.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let (f, ptr) = self.specs.resolve(file, r)?;
                Ok((f.clone(), self.specs.get(&f, &ptr)?.clone()))
            }
            None => Ok((file.to_path_buf(), raw.clone())),
        }
    }

    fn operations(&mut self, file: &Path) -> Result<Vec<Operation>, String> {
        let json = &self.specs.doc(file).json;
        let empty = Map::new();
        let host = json.get("x-ms-parameterized-host");
        let base_url = host
            .and_then(|h| h.get("parameters"))
            .and_then(Value::as_array)
            .and_then(|p| p.first())
            .map(|p| str_of(p, "name"))
            .filter(|n| !n.is_empty())
            .map(names::snake)
            .unwrap_or_else(|| "endpoint".to_string());
        let mut ops = Vec::new();
        for section in ["paths", "x-ms-paths"] {
            let paths = json
                .get(section)
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            for (raw_path, item) in paths {
                let path = raw_path.split('?').next().unwrap_or(raw_path).to_string();
                let shared: Vec<Value> = item
                    .get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for method in ["get", "put", "post", "patch", "delete", "head", "options"] {
                    let Some(op) = item.get(method) else { continue };
                    ops.push(self.operation(file, &path, method, op, &shared, &base_url)?);
                }
            }
        }
        Ok(ops)
    }

    fn operation(
        &mut self,
        file: &Path,
        path: &str,
        method: &str,
        op: &Value,
        shared: &[Value],
        base_url: &str,
    ) -> Result<Operation, String> {
        let id = str_of(op, "operationId").to_string();
        if id.is_empty() {
            return Err(format!(
                "{} {path} has no operationId",
                method.to_uppercase()
            ));
        }
        let mut raw: Vec<(PathBuf, Value)> = Vec::new();
        for p in shared.iter().chain(
            op.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        ) {
            let (f, p) = self.param(file, p)?;
            raw.retain(|(_, q)| {
                !(str_of(q, "name") == str_of(&p, "name") && str_of(q, "in") == str_of(&p, "in"))
            });
            raw.push((f, p));
        }
        let mut params = Vec::new();
        let mut taken = BTreeSet::from([base_url.to_string()]);
        for (pfile, p) in raw {
            let location = match str_of(&p, "in") {
                "path" => Location::Path,
                "query" => Location::Query,
                "header" => Location::Header,
                "body" => Location::Body,
                other => {
                    return Err(format!(
                        "{id}: parameter location `{other}` is not supported"
                    ));
                }
            };
            let wire = str_of(&p, "name").to_string();
            if location == Location::Query && wire == "api-version" {
                continue;
            }
            let client = str_of(&p, "x-ms-client-name");
            // A body's name never goes on the wire: it is always `body`.
            let mut rust = if location == Location::Body {
                "body".to_string()
            } else {
                names::snake(if client.is_empty() { &wire } else { client })
            };
            while !taken.insert(rust.clone()) {
                rust.push('_');
            }
            let ty = match location {
                Location::Body => self.ty(&pfile, p.get("schema").unwrap_or(&Value::Null), None)?,
                Location::Path | Location::Header => Ty::String,
                Location::Query => self.ty(&pfile, &p, None)?.nested(),
            };
            params.push(Param {
                rust_name: rust,
                wire_name: wire,
                location,
                ty,
                required: flag(&p, "required") || location == Location::Path,
                skip_encoding: flag(&p, "x-ms-skip-url-encoding"),
                doc: doc_of(&p),
            });
        }
        // Required first, then by location: path, body, query, header.
        let order = |p: &Param| {
            (
                !p.required,
                match p.location {
                    Location::Path => 0,
                    Location::Body => 1,
                    Location::Query => 2,
                    Location::Header => 3,
                },
            )
        };
        params.sort_by_key(order);
        let mut success = Vec::new();
        let mut response = None;
        for (code, r) in op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let Ok(code) = code.parse::<u16>() else {
                continue;
            };
            if !(200..400).contains(&code) {
                continue;
            }
            success.push(code);
            if response.is_none()
                && let Some(schema) = r.get("schema")
            {
                response = Some(self.ty(file, schema, None)?);
            }
        }
        success.sort_unstable();
        let long_running = flag(op, "x-ms-long-running-operation").then(|| {
            op.get("x-ms-long-running-operation-options")
                .map(|o| str_of(o, "final-state-via"))
                .filter(|s| !s.is_empty())
                .unwrap_or("default")
                .to_string()
        });
        let pageable = op.get("x-ms-pageable").map(|p| {
            p.get("nextLinkName")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        let item_name = op
            .get("x-ms-pageable")
            .map(|p| str_of(p, "itemName"))
            .filter(|s| !s.is_empty())
            .unwrap_or("value")
            .to_string();
        Ok(Operation {
            part: Part::Response,
            id,
            summary: str_of(op, "summary").to_string(),
            description: str_of(op, "description").to_string(),
            method: method.to_uppercase(),
            path: path.to_string(),
            base_url: base_url.to_string(),
            params,
            success,
            response,
            long_running,
            pageable,
            item_name,
        })
    }
}
