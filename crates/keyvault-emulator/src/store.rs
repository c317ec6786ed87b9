//! Durable state: a redb database in the data directory, or nothing at all
//! when the emulator runs in memory.
//!
//! Services keep their state in memory and write every change through this
//! store with a durable commit *before* they answer, so an acknowledged write
//! survives a crash. On start they load their tables back.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::{Error, ErrorKind, ServiceError};

/// A table of the store: string keys, byte values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table(&'static str);

impl Table {
    fn def(self) -> TableDefinition<'static, &'static str, &'static [u8]> {
        TableDefinition::new(self.0)
    }

    /// This table of the vault or HSM named `name`: the table itself for the
    /// default name (so stores written before names existed open as they
    /// were), `<table>@<name>` otherwise. Names are interned: a process
    /// keeps one copy of each.
    pub(crate) fn of(self, name: &str) -> Table {
        if name == crate::DEFAULT_NAME {
            return self;
        }
        static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
            std::sync::Mutex::new(std::collections::BTreeSet::new());
        let full = format!("{}@{name}", self.0);
        let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = names.get(full.as_str()) {
            return Table(known);
        }
        let interned: &'static str = Box::leak(full.into_boxed_str());
        names.insert(interned);
        Table(interned)
    }
}

/// The vault's secrets, one record per secret name (lower case).
pub(crate) const VAULT_SECRETS: Table = Table("vault_secrets");
/// The HSM's keys, one record per key name (lower case).
pub(crate) const HSM_KEYS: Table = Table("hsm_keys");
/// The HSM's custom role definitions, by GUID name (lower case).
pub(crate) const HSM_ROLE_DEFINITIONS: Table = Table("hsm_role_definitions");
/// The HSM's role assignments, by name (lower case).
pub(crate) const HSM_ROLE_ASSIGNMENTS: Table = Table("hsm_role_assignments");
/// The HSM's account settings that differ from their defaults, by name.
pub(crate) const HSM_SETTINGS: Table = Table("hsm_settings");
/// The HSM's backup and restore jobs, by job id.
pub(crate) const HSM_JOBS: Table = Table("hsm_jobs");
/// Emulator-wide settings: the backup key, the clock offset.
pub(crate) const META: Table = Table("meta");

/// redb's page cache.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// One change in a commit.
#[derive(Debug)]
pub(crate) enum Op {
    /// Insert or replace a record.
    Put(Table, String, Vec<u8>),
    /// Remove a record (no error when it is absent).
    Delete(Table, String),
}

/// The durable store (or its in-memory stand-in, which keeps nothing).
#[derive(Debug)]
pub(crate) struct Store {
    db: Option<Database>,
    /// Unit tests make commits fail with this.
    #[cfg(test)]
    fail_commits: std::sync::atomic::AtomicBool,
}

fn store_err(message: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::with_source(ErrorKind::Store, message.to_owned(), e)
}

impl Store {
    /// A store that persists nothing.
    pub(crate) fn in_memory() -> Self {
        Self::with_db(None)
    }

    fn with_db(db: Option<Database>) -> Self {
        Self {
            db,
            #[cfg(test)]
            fail_commits: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Makes every later commit fail (or succeed again).
    #[cfg(test)]
    pub(crate) fn fail_commits(&self, fail: bool) {
        self.fail_commits
            .store(fail, std::sync::atomic::Ordering::SeqCst);
    }

    /// Opens (or creates) `emulator.redb` in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Self, Error> {
        crate::files::create_private_dir(dir)?;
        let path = dir.join("emulator.redb");
        crate::files::touch_private(&path)?;
        // Everything is read once at start and kept in memory by the
        // services: a large page cache (redb's default is 1 GiB) would only
        // hold a second copy of the store.
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| store_err(&format!("cannot open the database {}", path.display()), e))?;
        Ok(Self::with_db(Some(db)))
    }

    /// Commits `ops` atomically and durably. Does nothing in memory.
    pub(crate) fn commit(&self, ops: Vec<Op>) -> Result<(), Error> {
        #[cfg(test)]
        if self.fail_commits.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::Store, "commits fail in this test"));
        }
        let Some(db) = &self.db else { return Ok(()) };
        if ops.is_empty() {
            return Ok(());
        }
        let mut txn = db
            .begin_write()
            .map_err(|e| store_err("cannot begin a write", e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| store_err("cannot set durability", e))?;
        for op in &ops {
            match op {
                Op::Put(table, key, value) => {
                    let mut t = txn
                        .open_table(table.def())
                        .map_err(|e| store_err("cannot open a table", e))?;
                    t.insert(key.as_str(), value.as_slice())
                        .map_err(|e| store_err("cannot write a record", e))?;
                }
                Op::Delete(table, key) => {
                    let mut t = txn
                        .open_table(table.def())
                        .map_err(|e| store_err("cannot open a table", e))?;
                    t.remove(key.as_str())
                        .map_err(|e| store_err("cannot remove a record", e))?;
                }
            }
        }
        txn.commit().map_err(|e| store_err("cannot commit", e))
    }

    /// Calls `f` with every record of `table`, in key order, straight from
    /// the database (no copy of the table is made).
    pub(crate) fn scan(&self, table: Table, mut f: impl FnMut(&str, &[u8])) -> Result<(), Error> {
        self.read(table, |t| {
            for row in t.iter().map_err(|e| store_err("cannot read a table", e))? {
                let (k, v) = row.map_err(|e| store_err("cannot read a record", e))?;
                f(k.value(), v.value());
            }
            Ok(())
        })
        .map(Option::unwrap_or_default)
    }

    /// Every record of `table`, in key order.
    #[cfg(test)]
    pub(crate) fn load(&self, table: Table) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let mut out = Vec::new();
        self.scan(table, |k, v| out.push((k.to_owned(), v.to_vec())))?;
        Ok(out)
    }

    /// One record of `table`.
    pub(crate) fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let v = self.read(table, |t| {
            let v = t
                .get(key)
                .map_err(|e| store_err("cannot read a record", e))?;
            Ok(v.map(|v| v.value().to_vec()))
        })?;
        Ok(v.flatten())
    }

    /// Runs `f` on `table` in a read transaction; `None` in memory or when
    /// the table was never written.
    fn read<T>(
        &self,
        table: Table,
        f: impl FnOnce(&redb::ReadOnlyTable<&'static str, &'static [u8]>) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        let Some(db) = &self.db else { return Ok(None) };
        let txn = db
            .begin_read()
            .map_err(|e| store_err("cannot begin a read", e))?;
        match txn.open_table(table.def()) {
            Ok(t) => f(&t).map(Some),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(store_err("cannot open a table", e)),
        }
    }
}

/// Every readable record of `table`; unreadable ones are logged and skipped.
pub(crate) fn records<T: serde::de::DeserializeOwned>(
    store: &Store,
    table: Table,
) -> Result<BTreeMap<String, T>, Error> {
    let mut out = BTreeMap::new();
    each_record(store, table, |key, v| {
        out.insert(key.to_owned(), v);
    })?;
    Ok(out)
}

/// Calls `f` with every readable record of `table`, decoded as it is read;
/// unreadable ones are logged and skipped.
pub(crate) fn each_record<T: serde::de::DeserializeOwned>(
    store: &Store,
    table: Table,
    mut f: impl FnMut(&str, T),
) -> Result<(), Error> {
    store.scan(table, |key, raw| match serde_json::from_slice::<T>(raw) {
        Ok(v) => f(key, v),
        Err(e) => tracing::error!(key, error = %e, "skipping an unreadable stored record"),
    })
}

/// A record as stored.
pub(crate) fn encode<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, ServiceError> {
    serde_json::to_vec(v).map_err(|_| ServiceError::internal("Cannot encode."))
}

/// The ops that turn the records of `table` with keys `old` into `new`.
pub(crate) fn replace_ops<'k, T: serde::Serialize>(
    table: Table,
    old: impl Iterator<Item = &'k String>,
    new: &BTreeMap<String, T>,
) -> Result<Vec<Op>, ServiceError> {
    let gone = old.filter(|k| !new.contains_key(*k));
    let mut ops: Vec<Op> = gone.map(|k| Op::Delete(table, k.clone())).collect();
    for (k, v) in new {
        ops.push(Op::Put(table, k.clone(), encode(v)?));
    }
    Ok(ops)
}

/// Changes to several stores, committed together: one transaction per
/// store (the services of one emulator share one store, so one in all).
#[derive(Debug, Default)]
pub(crate) struct Batch(Vec<(Arc<Store>, Vec<Op>)>);

impl Batch {
    /// Adds `op` to the transaction of `store`.
    pub(crate) fn push(&mut self, store: &Arc<Store>, op: Op) {
        match self.0.iter_mut().find(|(s, _)| Arc::ptr_eq(s, store)) {
            Some((_, ops)) => ops.push(op),
            None => self.0.push((store.clone(), vec![op])),
        }
    }

    /// How many changes the batch holds.
    pub(crate) fn len(&self) -> usize {
        self.0.iter().map(|(_, ops)| ops.len()).sum()
    }

    /// Commits each store's changes in one transaction.
    pub(crate) fn commit(self) -> Result<(), Error> {
        self.0
            .into_iter()
            .try_for_each(|(store, ops)| store.commit(ops))
    }
}

impl Store {
    /// Commits `ops` durably for a request; a failure is a `500` that says
    /// nothing was stored.
    pub(crate) fn save(&self, ops: Vec<Op>) -> Result<(), ServiceError> {
        self.commit(ops).map_err(|e| {
            tracing::error!(error = %e, "durable commit failed");
            ServiceError::internal("The change could not be stored.")
        })
    }

    /// Stores `v` under `key` of `table` for a request (see [`Store::save`]).
    pub(crate) fn put<T: serde::Serialize>(
        &self,
        table: Table,
        key: &str,
        v: &T,
    ) -> Result<(), ServiceError> {
        self.save(vec![Op::Put(table, key.to_owned(), encode(v)?)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            assert!(store.load(VAULT_SECRETS).unwrap().is_empty());
            store
                .commit(vec![
                    Op::Put(VAULT_SECRETS, "a".into(), b"1".to_vec()),
                    Op::Put(VAULT_SECRETS, "b".into(), b"2".to_vec()),
                ])
                .unwrap();
            store
                .commit(vec![Op::Delete(VAULT_SECRETS, "a".into())])
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.load(VAULT_SECRETS).unwrap(),
            vec![("b".to_owned(), b"2".to_vec())]
        );
        assert_eq!(store.get(VAULT_SECRETS, "b").unwrap(), Some(b"2".to_vec()));
        assert!(Store::in_memory().get(META, "x").unwrap().is_none());
    }

    #[test]
    fn named_tables_are_apart_and_interned() {
        assert_eq!(VAULT_SECRETS.of(crate::DEFAULT_NAME).0, "vault_secrets");
        let a = VAULT_SECRETS.of("billing");
        assert_eq!(a.0, "vault_secrets@billing");
        assert!(std::ptr::eq(a.0, VAULT_SECRETS.of("billing").0));
        assert_ne!(HSM_KEYS.of("billing").0, a.0);
    }
}
