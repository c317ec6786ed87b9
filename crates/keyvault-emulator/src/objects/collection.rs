//! [`Collection`]: the versioned-object store behind the vault's secrets and
//! the HSM's keys. Live and deleted objects are kept in two ordered maps by
//! lower-case name, deleted ones also in a purge-date index; every change is
//! committed to the [`Store`] before it is applied in memory.
//!
//! **Writes and the lock.** Readers see only what is durable: a writer
//! computes its change under the collection's lock, lets go of it, waits
//! for the (group) commit, and only then takes the lock again to apply the
//! change. So no reader waits on an `fsync`, and nothing a reader saw can
//! be lost by a crash; a failed commit leaves memory as it was. Writers of
//! one name take turns (the right to write a name is held from the read
//! to the apply, so a change is always made on the latest state of its
//! object); writers of different names commit together. What changes many
//! objects at once (an import, a full restore, the purge sweep) holds the
//! right to write the whole collection.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::paging;
use super::{Deletion, Render, Retention, Stored};
use crate::api_version::ApiVersion;
use crate::clock::Clock;
use crate::error::ServiceError;
use crate::server::Request;
use crate::store::{self, Batch, Op, Store, Table};

type Result<T> = std::result::Result<T, ServiceError>;

/// A version of a secret or a key: its id and its wire shapes.
pub(crate) trait Versioned: Clone + Serialize + DeserializeOwned + Send + 'static {
    fn id(&self) -> &str;
    /// The bundle (a secret's without its value).
    fn bundle(&self, r: &Render<'_>, name: &str) -> Map<String, Value>;
    /// The list item; `versioned` picks the id with the version.
    fn item(&self, r: &Render<'_>, name: &str, versioned: bool) -> Map<String, Value>;
}

/// What a collection holds, for its paths and error messages.
#[derive(Debug)]
pub(crate) struct Kind {
    /// `secret` or `key`.
    pub(crate) noun: &'static str,
    /// `Secret` or `Key`.
    pub(crate) title: &'static str,
    /// `SecretNotFound` or `KeyNotFound`.
    pub(crate) not_found_code: &'static str,
    /// `secrets` or `keys`.
    pub(crate) path: &'static str,
    /// `deletedsecrets` or `deletedkeys`.
    pub(crate) deleted_path: &'static str,
    /// The message of a purge refused by purge protection.
    pub(crate) purge_protected: fn(&str) -> String,
}

impl Kind {
    fn not_found(&self, name: &str) -> ServiceError {
        let noun = self.noun;
        ServiceError::new(
            404,
            self.not_found_code,
            format!(
                "A {noun} with (name/id) {name} was not found in this key vault. If you recently deleted this {noun} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
            ),
        )
    }

    fn deleted_conflict(&self, name: &str) -> ServiceError {
        let (title, noun) = (self.title, self.noun);
        ServiceError::conflict(format!(
            "{title} {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the {noun} can only be recovered or purged."
        ))
    }

    fn deleted_not_found(&self, name: &str) -> ServiceError {
        let message = format!("Deleted {} not found: {name}", self.title);
        ServiceError::new(404, self.not_found_code, message)
    }
}

/// One version of an object as a request sees it, cloned out of the store.
#[derive(Debug)]
pub(crate) struct Found<V> {
    /// The object's name as first created.
    pub(crate) name: String,
    pub(crate) version: V,
    pub(crate) deleted: Option<Deletion>,
}

impl<V> Found<V> {
    fn of(s: &Stored<V>, version: V) -> Self {
        let (name, deleted) = (s.name.clone(), s.deleted);
        Self {
            name,
            version,
            deleted,
        }
    }
}

struct Items<V> {
    live: BTreeMap<String, Stored<V>>,
    deleted: BTreeMap<String, Stored<V>>,
    /// `(scheduled purge date, key)` of every deleted object.
    due: BTreeSet<(i64, String)>,
}

impl<V> Default for Items<V> {
    fn default() -> Self {
        Self {
            live: BTreeMap::new(),
            deleted: BTreeMap::new(),
            due: BTreeSet::new(),
        }
    }
}

impl<V> Items<V> {
    fn insert(&mut self, key: String, s: Stored<V>) {
        self.remove(&key);
        match s.deleted {
            Some(d) => {
                self.due.insert((d.scheduled_purge_date, key.clone()));
                self.deleted.insert(key, s);
            }
            None => {
                self.live.insert(key, s);
            }
        }
    }

    fn remove(&mut self, key: &str) {
        self.live.remove(key);
        if let Some(d) = self.deleted.remove(key).and_then(|s| s.deleted) {
            self.due.remove(&(d.scheduled_purge_date, key.to_owned()));
        }
    }
}

/// Whole objects staged for a collection (see [`Collection::stage`]): their
/// changes go into a [`Batch`] and, once it is committed, [`Staged::apply`]
/// puts them in memory. Dropped without applying, it changes nothing.
pub(crate) struct Staged<'c, V: Versioned> {
    collection: &'c Collection<V>,
    _writing: Writing<'c, V>,
    puts: Vec<(String, Stored<V>)>,
}

impl<V: Versioned> Staged<'_, V> {
    /// The object called `name`, live or deleted, as stored now.
    pub(crate) fn existing(&self, name: &str) -> Option<Stored<V>> {
        let key = name.to_ascii_lowercase();
        let items = self.collection.lock();
        (items.live.get(&key))
            .or_else(|| items.deleted.get(&key))
            .cloned()
    }

    /// Adds the write of `s` (in place of any object of its name) to `batch`.
    pub(crate) fn put(&mut self, batch: &mut Batch, s: Stored<V>) -> Result<()> {
        let key = s.name.to_ascii_lowercase();
        let op = Op::Put(self.collection.table, key.clone(), store::encode(&s)?);
        batch.push(&self.collection.store, op);
        self.puts.push((key, s));
        Ok(())
    }

    /// Applies the staged objects in memory (after the batch's commit); the
    /// next sweep looks at their purge dates.
    pub(crate) fn apply(mut self) {
        let mut items = self.collection.lock();
        for (key, s) in std::mem::take(&mut self.puts) {
            items.insert(key, s);
        }
        self.collection.next_due.store(i64::MIN, Ordering::SeqCst);
    }
}

/// Who may write what: the names being written, and whether the whole
/// collection is (or is waited for).
#[derive(Default)]
struct Writers {
    names: HashSet<String>,
    whole: bool,
    /// Writers of the whole collection waiting: new name writers wait too,
    /// so that they cannot starve them.
    whole_waiting: usize,
}

/// The right to write one name (`Some`) or the whole collection, until
/// dropped.
struct Writing<'c, V: Versioned> {
    collection: &'c Collection<V>,
    name: Option<String>,
}

impl<V: Versioned> Drop for Writing<'_, V> {
    fn drop(&mut self) {
        let mut w = self.collection.lock_writers();
        match self.name.take() {
            Some(name) => {
                w.names.remove(&name);
            }
            None => w.whole = false,
        }
        self.collection.writer_done.notify_all();
    }
}

/// Secrets or keys: versions, soft-delete, recover, purge, the purge sweep
/// and paged lists. JSON is rendered outside the lock.
pub(crate) struct Collection<V> {
    kind: &'static Kind,
    table: Table,
    store: Arc<Store>,
    clock: Clock,
    pub(crate) retention: Retention,
    items: Mutex<Items<V>>,
    writers: Mutex<Writers>,
    /// Signalled when a writer is done.
    writer_done: Condvar,
    /// The earliest scheduled purge date (`i64::MAX` when nothing is
    /// deleted), so that most sweeps take no lock.
    next_due: AtomicI64,
}

impl<V: Versioned> Collection<V> {
    /// Loads the collection from `table` and purges what is due.
    pub(crate) fn open(
        kind: &'static Kind,
        table: Table,
        store: Arc<Store>,
        clock: Clock,
        retention: Retention,
    ) -> std::result::Result<Self, crate::Error> {
        let collection = Self {
            kind,
            table,
            clock,
            retention,
            items: Mutex::new(Items::default()),
            writers: Mutex::new(Writers::default()),
            writer_done: Condvar::new(),
            next_due: AtomicI64::new(i64::MIN),
            store,
        };
        {
            let mut items = collection.lock();
            store::each_record(&collection.store, table, |key, s: Stored<V>| {
                items.insert(key.to_owned(), s);
            })?;
        }
        collection.sweep();
        Ok(collection)
    }

    fn lock(&self) -> MutexGuard<'_, Items<V>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_writers(&self) -> MutexGuard<'_, Writers> {
        self.writers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for the right to write `key` (lower case).
    fn writing(&self, key: &str) -> Writing<'_, V> {
        let mut w = self.lock_writers();
        while w.whole || w.whole_waiting > 0 || w.names.contains(key) {
            w = (self.writer_done.wait(w)).unwrap_or_else(|e| e.into_inner());
        }
        w.names.insert(key.to_owned());
        Writing {
            collection: self,
            name: Some(key.to_owned()),
        }
    }

    /// Waits for the right to write the whole collection.
    fn writing_all(&self) -> Writing<'_, V> {
        let mut w = self.lock_writers();
        w.whole_waiting += 1;
        while w.whole || !w.names.is_empty() {
            w = (self.writer_done.wait(w)).unwrap_or_else(|e| e.into_inner());
        }
        w.whole_waiting -= 1;
        w.whole = true;
        Writing {
            collection: self,
            name: None,
        }
    }

    /// Commits `s` (or its removal) under `key`, then applies it. The
    /// caller holds the right to write `key`; the lock is not held while
    /// the commit runs.
    fn put(&self, key: String, s: Option<Stored<V>>) -> Result<()> {
        match s {
            Some(s) => {
                self.store.put(self.table, &key, &s)?;
                self.lock().insert(key, s);
            }
            None => {
                self.store.save(vec![Op::Delete(self.table, key.clone())])?;
                self.lock().remove(&key);
            }
        }
        Ok(())
    }

    /// Commits and applies `s`; answers with its version `v`.
    fn write(&self, s: Stored<V>, v: V) -> Result<Found<V>> {
        let found = Found::of(&s, v);
        self.put(s.name.to_ascii_lowercase(), Some(s))?;
        Ok(found)
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The render context of a request.
    pub(crate) fn render<'r>(&self, req: &'r Request, api: ApiVersion) -> Render<'r> {
        Render::new(&req.base_url, api, &self.retention)
    }

    /// A bundle, with the deletion fields when `f` is deleted.
    pub(crate) fn bundle(&self, r: &Render<'_>, f: &Found<V>) -> Map<String, Value> {
        let mut m = f.version.bundle(r, &f.name);
        if let Some(d) = &f.deleted {
            r.deletion(&mut m, self.kind.deleted_path, &f.name, d);
        }
        m
    }

    /// Adds a version made by `make` (given the id of the latest, if any) to
    /// the object `name`, creating it when it does not exist.
    pub(crate) fn create(
        &self,
        name: &str,
        make: impl FnOnce(Option<&str>) -> V,
    ) -> Result<Found<V>> {
        let key = name.to_ascii_lowercase();
        let _writing = self.writing(&key);
        let (s, v) = {
            let items = self.lock();
            if items.deleted.contains_key(&key) {
                return Err(self.kind.deleted_conflict(name));
            }
            let mut s = items
                .live
                .get(&key)
                .cloned()
                .unwrap_or_else(|| Stored::new(name));
            let v = make(s.versions.get(&s.latest).map(V::id));
            s.latest = v.id().to_owned();
            s.versions.insert(s.latest.clone(), v.clone());
            (s, v)
        };
        self.write(s, v)
    }

    /// Refuses a name that a deleted object has (it cannot be reused).
    pub(crate) fn check_not_deleted(&self, name: &str) -> Result<()> {
        if self.lock().deleted.contains_key(&name.to_ascii_lowercase()) {
            return Err(self.kind.deleted_conflict(name));
        }
        Ok(())
    }

    /// A live object and its version (`""` for the latest).
    fn find<'i>(
        &self,
        items: &'i Items<V>,
        name: &str,
        version: &str,
    ) -> Result<(&'i Stored<V>, &'i V)> {
        let s = items.live.get(&name.to_ascii_lowercase());
        let s = s.ok_or_else(|| self.kind.not_found(name))?;
        let v = match version {
            "" => s.latest(),
            _ => s.versions.get(&version.to_ascii_lowercase()),
        };
        let v = v.ok_or_else(|| self.kind.not_found(&format!("{name}/{version}")))?;
        Ok((s, v))
    }

    /// A live object's version (`""` for the latest).
    pub(crate) fn get(&self, name: &str, version: &str) -> Result<Found<V>> {
        let items = self.lock();
        let (s, v) = self.find(&items, name, version)?;
        Ok(Found::of(s, v.clone()))
    }

    /// A live object with all its versions.
    pub(crate) fn get_all(&self, name: &str) -> Result<Stored<V>> {
        Ok(self.find(&self.lock(), name, "")?.0.clone())
    }

    /// Changes a live object's version (`""` for the latest) with `change`.
    pub(crate) fn update(
        &self,
        name: &str,
        version: &str,
        change: impl FnOnce(&mut V),
    ) -> Result<Found<V>> {
        let _writing = self.writing(&name.to_ascii_lowercase());
        let (mut s, mut v) = self.find_cloned(name, version)?;
        change(&mut v);
        s.versions.insert(v.id().to_owned(), v.clone());
        self.write(s, v)
    }

    /// A live object and its version, cloned out of the lock.
    fn find_cloned(&self, name: &str, version: &str) -> Result<(Stored<V>, V)> {
        let items = self.lock();
        let (s, v) = self.find(&items, name, version)?;
        Ok((s.clone(), v.clone()))
    }

    /// Soft-deletes a live object; answers with its latest version.
    pub(crate) fn delete(&self, name: &str) -> Result<Found<V>> {
        let _writing = self.writing(&name.to_ascii_lowercase());
        let (mut s, v) = self.find_cloned(name, "")?;
        let d = Deletion::at(self.clock.now(), &self.retention);
        s.deleted = Some(d);
        let found = self.write(s, v)?;
        self.next_due
            .fetch_min(d.scheduled_purge_date, Ordering::SeqCst);
        Ok(found)
    }

    /// A deleted object and its latest version.
    fn find_deleted(&self, items: &Items<V>, name: &str) -> Result<(Stored<V>, V)> {
        let s = items.deleted.get(&name.to_ascii_lowercase());
        let found = s.and_then(|s| Some((s.clone(), s.latest()?.clone())));
        found.ok_or_else(|| self.kind.deleted_not_found(name))
    }

    /// A deleted object's latest version.
    pub(crate) fn get_deleted(&self, name: &str) -> Result<Found<V>> {
        let (s, v) = self.find_deleted(&self.lock(), name)?;
        Ok(Found::of(&s, v))
    }

    /// Purges a deleted object (refused with purge protection).
    pub(crate) fn purge(&self, name: &str) -> Result<()> {
        let _writing = self.writing(&name.to_ascii_lowercase());
        let (s, _) = self.find_deleted(&self.lock(), name)?;
        if self.retention.purge_protection {
            return Err(ServiceError::forbidden((self.kind.purge_protected)(name)));
        }
        self.put(s.name.to_ascii_lowercase(), None)
    }

    /// Recovers a deleted object; answers with its latest version.
    pub(crate) fn recover(&self, name: &str) -> Result<Found<V>> {
        let _writing = self.writing(&name.to_ascii_lowercase());
        let (mut s, v) = self.find_deleted(&self.lock(), name)?;
        s.deleted = None;
        self.write(s, v)
    }

    /// Adds a whole object (a restored backup) when no object, live or
    /// deleted, has its name; answers with its latest version.
    pub(crate) fn insert_new(&self, mut s: Stored<V>) -> Result<Found<V>> {
        s.deleted = None;
        let key = s.name.to_ascii_lowercase();
        let _writing = self.writing(&key);
        {
            let items = self.lock();
            if let Some(existing) = items.live.get(&key).or_else(|| items.deleted.get(&key)) {
                let state = match existing.deleted {
                    Some(_) => " (it is deleted but not purged)",
                    None => "",
                };
                let (title, noun, name) = (self.kind.title, self.kind.noun, &existing.name);
                return Err(ServiceError::conflict(format!(
                    "{title} {name} already exists{state}; a backup can only be restored when no {noun} of that name exists."
                )));
            }
        }
        let v = s.latest().cloned();
        let v = v.ok_or_else(|| ServiceError::bad_parameter("Backup blob is empty."))?;
        self.write(s, v)
    }

    /// Adds the versions of `backup` that the live object lacks (the whole
    /// object when there is none); a deleted object of that name is a
    /// conflict. Returns how many versions were added and skipped.
    pub(crate) fn merge(&self, mut backup: Stored<V>) -> Result<(usize, usize)> {
        let key = backup.name.to_ascii_lowercase();
        let _writing = self.writing(&key);
        let items = self.lock();
        if let Some(existing) = items.deleted.get(&key) {
            return Err(ServiceError::conflict(format!(
                "{} {} is deleted but not purged; recover or purge it before restoring it.",
                self.kind.title, existing.name
            )));
        }
        backup.deleted = None;
        let (merged, added, skipped) = match items.live.get(&key) {
            Some(existing) => {
                let mut merged = existing.clone();
                let total = backup.versions.len();
                for (id, v) in backup.versions {
                    merged.versions.insert_if_absent(id, v);
                }
                let added = merged.versions.len() - existing.versions.len();
                (merged, added, total - added)
            }
            None => {
                let n = backup.versions.len();
                (backup, n, 0)
            }
        };
        drop(items);
        self.put(key, Some(merged))?;
        Ok((added, skipped))
    }

    /// Starts writing whole objects (an import): the collection stays
    /// locked until the [`Staged`] is applied or dropped.
    pub(crate) fn stage(&self) -> Staged<'_, V> {
        Staged {
            collection: self,
            _writing: self.writing_all(),
            puts: Vec::new(),
        }
    }

    /// Every object, live and deleted, by key (what a full backup holds).
    pub(crate) fn snapshot(&self) -> BTreeMap<String, Stored<V>> {
        let items = self.lock();
        items
            .live
            .iter()
            .chain(&items.deleted)
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect()
    }

    /// Replaces every object with `new` (a full restore), committed in one
    /// transaction with `with` (the rest of the restored state).
    pub(crate) fn replace(&self, new: BTreeMap<String, Stored<V>>, with: Vec<Op>) -> Result<()> {
        let _writing = self.writing_all();
        let mut ops = {
            let items = self.lock();
            let old = items.live.keys().chain(items.deleted.keys());
            store::replace_ops(self.table, old, &new)?
        };
        ops.extend(with);
        self.store.save(ops)?;
        let mut items = self.lock();
        *items = Items::default();
        for (k, s) in new {
            items.insert(k, s);
        }
        self.next_due.store(i64::MIN, Ordering::SeqCst);
        Ok(())
    }

    /// Purges deleted objects whose scheduled purge date has passed: only
    /// the due ones are looked at, and nothing when none is due.
    pub(crate) fn sweep(&self) {
        let now = self.clock.now();
        if now < self.next_due.load(Ordering::SeqCst) {
            return;
        }
        let _writing = self.writing_all();
        let due: Vec<String> = (self.lock().due.iter())
            .take_while(|(t, _)| *t <= now)
            .map(|(_, k)| k.clone())
            .collect();
        if !due.is_empty() {
            let ops = due
                .iter()
                .map(|k| Op::Delete(self.table, k.clone()))
                .collect();
            if let Err(e) = self.store.commit(ops) {
                tracing::error!(error = %e, kind = self.kind.noun, "cannot purge what is due");
                return;
            }
        }
        let mut items = self.lock();
        for k in &due {
            items.remove(k);
        }
        if !due.is_empty() {
            tracing::info!(
                count = due.len(),
                kind = self.kind.noun,
                "purged deleted objects past their purge date"
            );
        }
        let next = items.due.first().map_or(i64::MAX, |(t, _)| *t);
        self.next_due.store(next, Ordering::SeqCst);
    }

    /// A page of live objects (latest versions) or, with `deleted`, of
    /// deleted ones.
    pub(crate) fn list(&self, req: &Request, api: ApiVersion, deleted: bool) -> Result<Value> {
        let page = paging::page(req)?;
        let rows: Vec<(String, Found<V>)> = {
            let items = self.lock();
            let map = if deleted { &items.deleted } else { &items.live };
            let rows = paging::window(map, &page).take(page.max + 1);
            rows.filter_map(|(k, s)| Some((k.clone(), Found::of(s, s.latest()?.clone()))))
                .collect()
        };
        let r = self.render(req, api);
        let path = if deleted {
            self.kind.deleted_path
        } else {
            self.kind.path
        };
        let path = format!("/{path}");
        Ok(paging::page_of(req, api, &path, &page, rows, |(_, f)| {
            let mut m = f.version.item(&r, &f.name, false);
            if let Some(d) = &f.deleted {
                r.deletion(&mut m, self.kind.deleted_path, &f.name, d);
            }
            Value::Object(m)
        }))
    }

    /// A page of a live object's versions. A missing or deleted object has
    /// no versions: an empty page, as the service answers for secrets (a
    /// recorded `GET /secrets/{never-set}/versions` is `200` with
    /// `{"value":[],"nextLink":null}`), and the same for keys.
    pub(crate) fn list_versions(
        &self,
        req: &Request,
        api: ApiVersion,
        name: &str,
    ) -> Result<Value> {
        let page = paging::page(req)?;
        let (name, rows): (String, Vec<(String, V)>) = {
            let items = self.lock();
            let Some(s) = items.live.get(&name.to_ascii_lowercase()) else {
                return Ok(paging::page_of(
                    req,
                    api,
                    "",
                    &page,
                    Vec::<(_, V)>::new(),
                    |_| Value::Null,
                ));
            };
            let rows = s.versions.after(page.after.as_deref()).take(page.max + 1);
            let rows = rows.map(|(k, v)| (k.clone(), v.clone()));
            (s.name.clone(), rows.collect())
        };
        let r = self.render(req, api);
        let path = format!("/{}/{name}/versions", self.kind.path);
        Ok(paging::page_of(req, api, &path, &page, rows, |(_, v)| {
            Value::Object(v.item(&r, &name, true))
        }))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::store::VAULT_SECRETS;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct V(String);

    thread_local! {
        /// Versions cloned out of the collection and rendered as list items
        /// on this thread: what a page costs.
        static WORK: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
    }

    fn work() -> (usize, usize) {
        WORK.with(|w| w.replace((0, 0)))
    }

    impl Clone for V {
        fn clone(&self) -> Self {
            WORK.with(|w| w.set((w.get().0 + 1, w.get().1)));
            V(self.0.clone())
        }
    }

    impl Versioned for V {
        fn id(&self) -> &str {
            &self.0
        }
        fn bundle(&self, _: &Render<'_>, _: &str) -> Map<String, Value> {
            Map::new()
        }
        fn item(&self, _: &Render<'_>, _: &str, _: bool) -> Map<String, Value> {
            WORK.with(|w| w.set((w.get().0, w.get().1 + 1)));
            let mut m = Map::new();
            m.insert("id".into(), Value::String(self.0.clone()));
            m
        }
    }

    fn list_request(path: &str, token: Option<&str>) -> Request {
        let mut query = vec![("api-version".to_owned(), "7.6".to_owned())];
        query.extend(token.map(|t| ("$skiptoken".to_owned(), t.to_owned())));
        Request {
            method: http::Method::GET,
            path: path.to_owned(),
            query,
            headers: http::HeaderMap::new(),
            base_url: "https://localhost".into(),
            body: bytes::Bytes::new(),
        }
    }

    /// Follows `nextLink`s from the first page; returns each page's work
    /// and the ids seen.
    fn walk(mut next: impl FnMut(Option<&str>) -> Value) -> (Vec<(usize, usize)>, Vec<String>) {
        let (mut costs, mut ids, mut token) = (Vec::new(), Vec::new(), None::<String>);
        work();
        loop {
            let page = next(token.as_deref());
            costs.push(work());
            let items = page["value"].as_array().unwrap();
            ids.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
            let Some(link) = page["nextLink"].as_str() else {
                break;
            };
            let t = link
                .split("$skiptoken=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap();
            token = Some(t.to_owned());
        }
        (costs, ids)
    }

    /// A page costs its own items (plus the one that tells more remain),
    /// wherever it starts: the work of the last page of 2,000 objects is
    /// the work of the first.
    #[test]
    fn a_page_costs_its_items_not_the_items_before_it() {
        let retention = Retention {
            retention_days: 7,
            purge_protection: false,
        };
        let (store, clock) = (Arc::new(Store::in_memory()), Clock::new());
        let c = Collection::open(&KIND, VAULT_SECRETS, store, clock, retention).unwrap();
        for i in 0..2_000 {
            let name = format!("t{i:05}");
            c.create(&name, |_| V(name.clone())).unwrap();
        }
        for i in 0..2_000 {
            c.create("many", |_| V(format!("v{i:05}"))).unwrap();
        }
        let api = ApiVersion::LATEST;
        type List<'a> = &'a dyn Fn(&Request) -> Result<Value>;
        let lists: [(&str, List<'_>); 2] = [
            ("/things", &|r| c.list(r, api, false)),
            ("/things/many/versions", &|r| {
                c.list_versions(r, api, "many")
            }),
        ];
        for (path, list) in lists {
            let (costs, ids) = walk(|token| list(&list_request(path, token)).unwrap());
            let want = if path.ends_with("versions") {
                2_000
            } else {
                2_001
            };
            assert_eq!(ids.len(), want, "{path}");
            assert_eq!(costs.len(), ids.len().div_ceil(25), "{path}");
            for (page, (cloned, rendered)) in costs.iter().enumerate() {
                assert!(*rendered <= 25, "{path} page {page} rendered {rendered}");
                assert!(*cloned <= 26, "{path} page {page} cloned {cloned}");
            }
        }
    }

    const KIND: Kind = Kind {
        noun: "thing",
        title: "Thing",
        not_found_code: "ThingNotFound",
        path: "things",
        deleted_path: "deletedthings",
        purge_protected: |name| format!("{name} is protected"),
    };

    /// Writers of many names and of one name, on a durable store, from many
    /// threads: every acknowledged write is there after reopening. Then a
    /// group whose commit fails: each of its writers gets the service's 500,
    /// and memory is as it was.
    #[test]
    fn concurrent_writers_are_durable_and_a_failed_group_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let retention = Retention {
            retention_days: 7,
            purge_protection: false,
        };
        let open = || {
            let store = Arc::new(Store::open(dir.path()).unwrap());
            let c = Collection::open(&KIND, VAULT_SECRETS, store.clone(), Clock::new(), retention);
            (store, Arc::new(c.unwrap()))
        };
        let write_all = |c: &Arc<Collection<V>>, tag: &'static str| {
            let threads: Vec<_> = (0..32)
                .map(|i| {
                    let c = c.clone();
                    std::thread::spawn(move || {
                        let name = if i % 4 == 0 {
                            "shared".to_owned()
                        } else {
                            format!("n{i}")
                        };
                        c.create(&name, |_| V(format!("{tag}{i}")))
                            .map(|f| f.version.0)
                    })
                })
                .collect();
            let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            outcomes
        };
        let acked: Vec<String> = {
            let (_store, c) = open();
            let acked = write_all(&c, "v").into_iter().map(Result::unwrap).collect();
            assert_eq!(c.get_all("shared").unwrap().versions.len(), 8);
            acked
        };
        let (store, c) = open();
        let mut found: Vec<String> = (c.snapshot().into_values())
            .flat_map(|s| {
                s.versions
                    .iter()
                    .map(|(id, _)| id.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        found.sort();
        let mut want = acked;
        want.sort();
        assert_eq!(found, want, "every acknowledged write, and only those");

        let before = c.snapshot();
        store.fail_commits(true);
        for outcome in write_all(&c, "lost") {
            let e = outcome.unwrap_err();
            assert_eq!((e.status, e.code), (500, "InternalServerError"));
            assert_eq!(
                e.body()["error"]["message"],
                "The change could not be stored."
            );
        }
        assert!(
            c.snapshot() == before,
            "a failed group changes nothing in memory"
        );
        assert_eq!(c.delete("n1").unwrap_err().status, 500);
        assert!(c.get("n1", "").is_ok() && c.get_deleted("n1").is_err());
    }

    #[test]
    fn the_sweep_purges_what_is_due_and_retries_what_could_not_be_stored() {
        let (store, clock) = (Arc::new(Store::in_memory()), Clock::new());
        let retention = Retention {
            retention_days: 7,
            purge_protection: false,
        };
        let c = Collection::open(
            &KIND,
            VAULT_SECRETS,
            store.clone(),
            clock.clone(),
            retention,
        )
        .unwrap();
        for name in ["a", "b"] {
            c.create(name, |_| V(name.into())).unwrap();
        }
        c.delete("a").unwrap();
        assert_eq!(
            c.next_due.load(Ordering::SeqCst),
            c.get_deleted("a")
                .unwrap()
                .deleted
                .unwrap()
                .scheduled_purge_date
        );
        clock.advance(8 * 86_400);
        store.fail_commits(true);
        c.sweep();
        assert!(c.get_deleted("a").is_ok(), "kept while it cannot be stored");
        store.fail_commits(false);
        c.sweep();
        assert_eq!(c.get_deleted("a").unwrap_err().code, "ThingNotFound");
        assert_eq!(c.next_due.load(Ordering::SeqCst), i64::MAX);
        assert!(c.get("b", "").is_ok() && c.create("a", |_| V("a2".into())).is_ok());
    }
}
