//! Durable state: a redb database in the data directory, or nothing at all
//! when the emulator runs in memory.
//!
//! Services keep their state in memory and write every change through this
//! store with a durable commit *before* they answer, so an acknowledged write
//! survives a crash. On start they load their tables back.
//!
//! **Group commit.** Writers hand their changes to [`Store::commit`] and wait.
//! The first waiting writer that finds no commit running takes everything
//! queued so far, writes it in one redb transaction (one durable commit, one
//! `fsync`), and wakes every writer of that group with its outcome; a writer
//! whose changes missed it waits for the next. Only the writers of the group
//! are woken, and the first writer still queued, which commits the next
//! group: the others sleep on. A failed commit fails every writer of its
//! group, and none of their changes is applied: services apply a change in
//! memory only once its commit has returned.
//!
//! **Data at rest.** Every record is sealed with AES-256-GCM under the data
//! key, a file of 32 random bytes (`emulator.key`, readable by its owner
//! only) created beside the database when a data directory is first opened;
//! each record is bound to its table and key. A data directory written in
//! clear by an older version is sealed whole, in one transaction, the first
//! time it is opened; one whose key file is gone is refused.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::Thread;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

use crate::error::{Error, ErrorKind, ServiceError};
use crate::seal::Sealer;

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
        static NAMES: Mutex<std::collections::BTreeSet<&'static str>> =
            Mutex::new(std::collections::BTreeSet::new());
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

impl Op {
    fn table(&self) -> Table {
        match self {
            Op::Put(t, ..) | Op::Delete(t, _) => *t,
        }
    }
}

/// The data key's file in the data directory.
const KEY_FILE: &str = "emulator.key";
/// The `META` record that says every record is sealed (never sealed itself).
const SEALED: &str = "records_sealed";
/// The format byte of a sealed record.
const RECORD_FORMAT: u8 = 0x52;

/// The durable store (or its in-memory stand-in, which keeps nothing).
#[derive(Debug)]
pub(crate) struct Store {
    db: Option<Database>,
    /// What the records are sealed with (with a database).
    sealer: Option<Sealer>,
    /// Changes waiting for a commit, and the outcomes of commits.
    group: Mutex<Group>,
    /// Unit tests make commits fail with this.
    #[cfg(test)]
    fail_commits: std::sync::atomic::AtomicBool,
    /// The transactions written, for tests of grouping.
    #[cfg(test)]
    transactions: std::sync::atomic::AtomicUsize,
}

/// The queue of the group commit.
#[derive(Default)]
struct Group {
    /// Changes not yet taken by a commit, by ticket, with the thread that
    /// waits for them (unparked when their outcome is known, or when it
    /// is to commit the next group).
    queue: Vec<(u64, Vec<Op>, Thread)>,
    next_ticket: u64,
    /// Whether a writer is committing a group now.
    committing: bool,
    /// Outcomes not yet collected by their writers, by ticket.
    done: HashMap<u64, Result<(), Arc<str>>>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("queued", &self.queue.len())
            .field("committing", &self.committing)
            .finish_non_exhaustive()
    }
}

fn store_err(message: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::with_source(ErrorKind::Store, message.to_owned(), e)
}

/// What a record is bound to: its table and key.
fn aad(table: &str, key: &str) -> Vec<u8> {
    [table.as_bytes(), b"\0", key.as_bytes()].concat()
}

impl Store {
    /// A store that persists nothing.
    pub(crate) fn in_memory() -> Self {
        Self::with_db(None, None)
    }

    fn with_db(db: Option<Database>, sealer: Option<Sealer>) -> Self {
        Self {
            db,
            sealer,
            group: Mutex::new(Group::default()),
            #[cfg(test)]
            fail_commits: std::sync::atomic::AtomicBool::new(false),
            #[cfg(test)]
            transactions: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Makes every later commit fail (or succeed again).
    #[cfg(test)]
    pub(crate) fn fail_commits(&self, fail: bool) {
        self.fail_commits
            .store(fail, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many transactions were written.
    #[cfg(test)]
    pub(crate) fn transactions(&self) -> usize {
        self.transactions.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Opens (or creates) `emulator.redb` in `dir`, with its data key.
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
        let (db, sealer) = record_sealer(dir, db)?;
        Ok(Self::with_db(Some(db), Some(sealer)))
    }

    /// Commits `ops` atomically and durably, in a group with the changes of
    /// other writers (see the module's documentation); returns once the
    /// group's commit has. Does nothing in memory.
    pub(crate) fn commit(&self, ops: Vec<Op>) -> Result<(), Error> {
        #[cfg(test)]
        if self.db.is_none() && self.fail_commits.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::Store, "commits fail in this test"));
        }
        let Some(db) = &self.db else { return Ok(()) };
        if ops.is_empty() {
            return Ok(());
        }
        let ops = self.seal_ops(ops)?;
        let mut group = self.lock_group();
        let ticket = group.next_ticket;
        group.next_ticket += 1;
        group.queue.push((ticket, ops, std::thread::current()));
        loop {
            if let Some(outcome) = group.done.remove(&ticket) {
                return outcome.map_err(|m| Error::new(ErrorKind::Store, m.to_string()));
            }
            if group.committing {
                // Unparked when the outcome is in, or to commit the next
                // group (an unpark between the unlock and the park makes
                // the park return at once; a spurious return loops).
                drop(group);
                std::thread::park();
                group = self.lock_group();
                continue;
            }
            // No commit runs: this writer commits everything queued.
            group.committing = true;
            let batch = std::mem::take(&mut group.queue);
            drop(group);
            let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.write(db, batch.iter().flat_map(|(_, ops, _)| ops))
            }));
            let outcome = match written {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, writers = batch.len(), "a group commit failed");
                    Err(Arc::from(e.to_string()))
                }
                Err(_) => Err(Arc::from("the commit panicked")),
            };
            group = self.lock_group();
            group.committing = false;
            let mut wake = Vec::with_capacity(batch.len());
            for (t, _, thread) in batch {
                group.done.insert(t, outcome.clone());
                if t != ticket {
                    wake.push(thread);
                }
            }
            // The first writer that came during this commit commits next.
            wake.extend(group.queue.first().map(|(_, _, next)| next.clone()));
            // Woken once the lock is free, so that they need not wait for it.
            drop(group);
            wake.iter().for_each(Thread::unpark);
            group = self.lock_group();
        }
    }

    fn lock_group(&self) -> MutexGuard<'_, Group> {
        self.group.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `ops` with their records sealed (done by each writer, so that the
    /// committing one only writes).
    fn seal_ops(&self, ops: Vec<Op>) -> Result<Vec<Op>, Error> {
        let Some(sealer) = &self.sealer else {
            return Ok(ops);
        };
        let seal = |op| match op {
            Op::Put(t, key, plain) => {
                let sealed = sealer.seal(RECORD_FORMAT, &aad(t.0, &key), &plain);
                let sealed = sealed.ok_or_else(|| Error::new(ErrorKind::Store, "cannot seal"))?;
                Ok(Op::Put(t, key, sealed))
            }
            delete => Ok(delete),
        };
        ops.into_iter().map(seal).collect()
    }

    /// Writes `ops` in one durable transaction.
    fn write<'o>(&self, db: &Database, ops: impl Iterator<Item = &'o Op>) -> Result<(), Error> {
        #[cfg(test)]
        {
            use std::sync::atomic::Ordering::SeqCst;
            self.transactions.fetch_add(1, SeqCst);
            if self.fail_commits.load(SeqCst) {
                return Err(Error::new(ErrorKind::Store, "commits fail in this test"));
            }
        }
        let mut txn = db
            .begin_write()
            .map_err(|e| store_err("cannot begin a write", e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| store_err("cannot set durability", e))?;
        {
            // Consecutive changes to one table share its handle.
            let mut open: Option<(&str, redb::Table<'_, &str, &[u8]>)> = None;
            for op in ops {
                let table = op.table();
                let t = match &mut open {
                    Some((name, t)) if *name == table.0 => t,
                    _ => {
                        let t = (txn.open_table(table.def()))
                            .map_err(|e| store_err("cannot open a table", e))?;
                        &mut open.insert((table.0, t)).1
                    }
                };
                match op {
                    Op::Put(_, key, value) => {
                        t.insert(key.as_str(), value.as_slice())
                            .map_err(|e| store_err("cannot write a record", e))?;
                    }
                    Op::Delete(_, key) => {
                        t.remove(key.as_str())
                            .map_err(|e| store_err("cannot remove a record", e))?;
                    }
                }
            }
        }
        txn.commit().map_err(|e| store_err("cannot commit", e))
    }

    /// A record as read from `table`: opened, or `None` when it cannot be
    /// (logged).
    fn unseal(&self, table: Table, key: &str, raw: &[u8]) -> Option<Vec<u8>> {
        let Some(sealer) = &self.sealer else {
            return Some(raw.to_vec());
        };
        let plain = sealer.open(RECORD_FORMAT, &aad(table.0, key), raw);
        if plain.is_none() {
            tracing::error!(
                table = table.0,
                key,
                "a stored record cannot be opened with the data key"
            );
        }
        plain
    }

    /// Calls `f` with every record of `table`, in key order, straight from
    /// the database (no copy of the table is made).
    /// Records that cannot be opened are logged and skipped.
    pub(crate) fn scan(&self, table: Table, mut f: impl FnMut(&str, &[u8])) -> Result<(), Error> {
        self.read(table, |t| {
            for row in t.iter().map_err(|e| store_err("cannot read a table", e))? {
                let (k, v) = row.map_err(|e| store_err("cannot read a record", e))?;
                if let Some(plain) = self.unseal(table, k.value(), v.value()) {
                    f(k.value(), &plain);
                }
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
            Ok(v.map(|v| self.unseal(table, key, v.value())))
        })?;
        match v.flatten() {
            Some(None) => Err(Error::new(
                ErrorKind::Store,
                format!("the record {key} of {} cannot be opened", table.0),
            )),
            Some(plain) => Ok(plain),
            None => Ok(None),
        }
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

/// The data key of `dir` as a [`Sealer`]: read from its file, or made when
/// the directory has no sealed records yet. A store written in clear (by a
/// version that did not seal its records) is copied, sealed, into a new
/// file that then takes its place, so no page of the old file survives in
/// the new one; until the rename, a restart starts the copy again. A sealed
/// store whose key file is gone is refused.
fn record_sealer(dir: &Path, db: Database) -> Result<(Database, Sealer), Error> {
    let path = dir.join(KEY_FILE);
    let (sealed, tables) = {
        let txn = db
            .begin_read()
            .map_err(|e| store_err("cannot begin a read", e))?;
        let tables = (txn.list_tables())
            .map_err(|e| store_err("cannot list the tables", e))?
            .count();
        match txn.open_table(META.def()) {
            Ok(t) => {
                let mark = t
                    .get(SEALED)
                    .map_err(|e| store_err("cannot read a record", e))?;
                (mark.is_some(), tables)
            }
            Err(redb::TableError::TableDoesNotExist(_)) => (false, tables),
            Err(e) => return Err(store_err("cannot open a table", e)),
        }
    };
    let key = match std::fs::read(&path) {
        Ok(raw) => <[u8; 32]>::try_from(raw.as_slice()).map_err(|_| {
            let shown = path.display();
            Error::new(
                ErrorKind::Store,
                format!("{shown} is not a data key (32 bytes)"),
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !sealed => new_key_file(&path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(
                ErrorKind::Store,
                format!(
                    "the data key {} is missing: the records of {} are sealed with it and cannot be read without it",
                    path.display(),
                    dir.display()
                ),
            ));
        }
        Err(e) => {
            let message = format!("cannot read the data key {}", path.display());
            return Err(Error::with_source(ErrorKind::Io, message, e));
        }
    };
    let sealer = Sealer::new(&key);
    let db = match (sealed, tables) {
        (true, _) => db,
        (false, 0) => {
            copy_sealed(&db, &db, &sealer)?;
            db
        }
        (false, _) => reseal(dir, db, &sealer)?,
    };
    Ok((db, sealer))
}

/// Copies the store written in clear in `dir` (open as `old`) into a new
/// file with every record sealed, puts it in the old one's place and opens
/// it.
fn reseal(dir: &Path, old: Database, sealer: &Sealer) -> Result<Database, Error> {
    let (path, fresh_path) = (dir.join("emulator.redb"), dir.join("emulator.redb.sealing"));
    let io = |e| Error::with_source(ErrorKind::Io, format!("cannot seal {}", path.display()), e);
    let open = |p: &Path| {
        Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(p)
            .map_err(|e| store_err(&format!("cannot open the database {}", p.display()), e))
    };
    match std::fs::remove_file(&fresh_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    let count = copy_sealed(&old, &open(&fresh_path)?, sealer)?;
    drop(old);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let owner_only = std::fs::Permissions::from_mode(0o600);
        std::fs::set_permissions(&fresh_path, owner_only).map_err(io)?;
    }
    std::fs::rename(&fresh_path, &path).map_err(io)?;
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    tracing::info!(
        records = count,
        "sealed the records of a data directory written in clear"
    );
    open(&path)
}

/// Creates `path` with 32 random bytes, readable by its owner only, and
/// makes it durable before any record is sealed with it.
fn new_key_file(path: &Path) -> Result<[u8; 32], Error> {
    use rand::RngCore;
    use std::io::Write;
    let io = |e| {
        Error::with_source(
            ErrorKind::Io,
            format!("cannot create {}", path.display()),
            e,
        )
    };
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(&key).map_err(io)?;
    file.sync_all().map_err(io)?;
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(key)
}

/// Writes every record of `from`, sealed, into `into` in one durable
/// transaction that also marks `into` sealed; returns how many.
fn copy_sealed(from: &Database, into: &Database, sealer: &Sealer) -> Result<usize, Error> {
    let read = from
        .begin_read()
        .map_err(|e| store_err("cannot begin a read", e))?;
    let mut txn = into
        .begin_write()
        .map_err(|e| store_err("cannot begin a write", e))?;
    txn.set_durability(Durability::Immediate)
        .map_err(|e| store_err("cannot set durability", e))?;
    let names: Vec<String> = (read.list_tables())
        .map_err(|e| store_err("cannot list the tables", e))?
        .map(|t| t.name().to_owned())
        .collect();
    let mut count = 0;
    for name in &names {
        let def = TableDefinition::<&str, &[u8]>::new(name);
        let source = (read.open_table(def)).map_err(|e| store_err("cannot open a table", e))?;
        let mut t = (txn.open_table(def)).map_err(|e| store_err("cannot open a table", e))?;
        for row in source
            .iter()
            .map_err(|e| store_err("cannot read a table", e))?
        {
            let (k, v) = row.map_err(|e| store_err("cannot read a record", e))?;
            let sealed = sealer.seal(RECORD_FORMAT, &aad(name, k.value()), v.value());
            let sealed = sealed.ok_or_else(|| Error::new(ErrorKind::Store, "cannot seal"))?;
            (t.insert(k.value(), sealed.as_slice()))
                .map_err(|e| store_err("cannot write a record", e))?;
            count += 1;
        }
    }
    {
        let mut meta =
            (txn.open_table(META.def())).map_err(|e| store_err("cannot open a table", e))?;
        (meta.insert(SEALED, b"aes-256-gcm".as_slice()))
            .map_err(|e| store_err("cannot write a record", e))?;
    }
    txn.commit().map_err(|e| store_err("cannot commit", e))?;
    Ok(count)
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

    /// Writers on many threads: fewer transactions than writers, every
    /// acknowledged record there after reopening, and when commits fail,
    /// every writer of the failed group fails and nothing is stored.
    #[test]
    fn concurrent_writers_share_commits_and_fail_together() {
        let dir = tempfile::tempdir().unwrap();
        let writers = 32;
        let run = |store: &Arc<Store>, prefix: &'static str| {
            let threads: Vec<_> = (0..writers)
                .map(|i| {
                    let store = store.clone();
                    std::thread::spawn(move || {
                        let ops = vec![Op::Put(VAULT_SECRETS, format!("{prefix}{i}"), vec![1; 8])];
                        store.commit(ops)
                    })
                })
                .collect();
            let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            outcomes
        };
        {
            let store = Arc::new(Store::open(dir.path()).unwrap());
            let before = store.transactions();
            assert!(run(&store, "ok").iter().all(Result::is_ok));
            let transactions = store.transactions() - before;
            assert!(
                (1..=writers).contains(&transactions),
                "{transactions} transactions"
            );
            store.fail_commits(true);
            for outcome in run(&store, "failed") {
                let e = outcome.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Store);
                assert!(e.to_string().contains("commits fail"), "{e}");
            }
            // A failed group leaves nothing behind for the next one.
            store.fail_commits(false);
            assert!(
                store
                    .commit(vec![Op::Delete(VAULT_SECRETS, "none".into())])
                    .is_ok()
            );
        }
        let store = Store::open(dir.path()).unwrap();
        let keys: Vec<String> = store
            .load(VAULT_SECRETS)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys.len(), writers, "{keys:?}");
        assert!(keys.iter().all(|k| k.starts_with("ok")), "{keys:?}");
    }

    /// Reads every file under `dir` and says whether any holds `needle`.
    fn files_hold(dir: &Path, needle: &[u8]) -> bool {
        std::fs::read_dir(dir).unwrap().any(|entry| {
            let path = entry.unwrap().path();
            let raw = std::fs::read(&path).unwrap_or_default();
            raw.windows(needle.len()).any(|w| w == needle)
        })
    }

    #[test]
    fn records_are_sealed_at_rest() {
        let dir = tempfile::tempdir().unwrap();
        let value = b"a-value-to-look-for-on-disk";
        {
            let store = Store::open(dir.path()).unwrap();
            let record = [b"{\"value\":\"".as_slice(), value, b"\"}"].concat();
            store
                .commit(vec![Op::Put(VAULT_SECRETS, "s".into(), record.clone())])
                .unwrap();
            assert_eq!(store.get(VAULT_SECRETS, "s").unwrap(), Some(record));
        }
        assert!(!files_hold(dir.path(), value));
        let key_file = dir.path().join(KEY_FILE);
        assert_eq!(std::fs::read(&key_file).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let store = Store::open(dir.path()).unwrap();
        let loaded = store.load(VAULT_SECRETS).unwrap();
        assert!(loaded[0].1.windows(value.len()).any(|w| w == value));
        drop(store);

        // Without its key the store is refused, not read as empty.
        std::fs::remove_file(&key_file).unwrap();
        let e = Store::open(dir.path()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Store);
        assert!(e.to_string().contains("data key"), "{e}");
        // Another key opens nothing: the record is skipped, and said so.
        std::fs::write(&key_file, [9u8; 32]).unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.load(VAULT_SECRETS).unwrap().is_empty());
        assert!(store.get(VAULT_SECRETS, "s").is_err());
    }

    #[test]
    fn a_store_written_in_clear_is_sealed_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let value = b"written-in-clear-by-an-older-version";
        {
            // What an older version wrote: records as they are, no key file.
            let db = Database::create(dir.path().join("emulator.redb")).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut t = txn.open_table(VAULT_SECRETS.def()).unwrap();
                t.insert("old", value.as_slice()).unwrap();
                let mut meta = txn.open_table(META.def()).unwrap();
                meta.insert("backup_key", [3u8; 32].as_slice()).unwrap();
            }
            txn.commit().unwrap();
        }
        assert!(files_hold(dir.path(), value));
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.get(VAULT_SECRETS, "old").unwrap().as_deref(),
            Some(value.as_slice())
        );
        assert_eq!(store.get(META, "backup_key").unwrap(), Some(vec![3u8; 32]));
        drop(store);
        assert!(!files_hold(dir.path(), value), "the old file is gone");
        assert!(!dir.path().join("emulator.redb.sealing").exists());
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.load(VAULT_SECRETS).unwrap(),
            vec![("old".to_owned(), value.to_vec())]
        );
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
