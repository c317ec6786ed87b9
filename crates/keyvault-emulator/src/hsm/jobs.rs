//! Long-running jobs: full backup to a blob container, full and selective
//! restore from one, and the pre-backup / pre-restore checks.
//!
//! A backup folder `mhsm-<name>-<yyyyMMddHHmmssff>` holds one blob per key
//! (`keys/<name>`), `rbac` (custom roles and assignments), `settings`, each
//! sealed with AES-256-GCM under the emulator's backup key (the blob's name
//! is the associated data, so blobs cannot be swapped), and last
//! `manifest.json` (plain JSON listing the keys), whose presence marks a
//! complete backup.

use std::collections::BTreeMap;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Snapshot;
use super::blob::{Container, Storage, StorageError};
use super::keys::StoredKey;
use super::rbac::{RoleAssignment, RoleDefinition};
use crate::seal as sealing;

/// The `format` of a manifest.
const FORMAT: &str = "keyvault-emulator-hsm-backup";
const SEAL_VERSION: u8 = 1;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum JobKind {
    Backup,
    PreBackup,
    Restore,
    PreRestore,
    SelectiveRestore,
}

impl JobKind {
    /// Whether its status is served under `/backup/` (else `/restore/`).
    pub(crate) fn is_backup(self) -> bool {
        matches!(self, JobKind::Backup | JobKind::PreBackup)
    }
}

/// A job's state, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Job {
    pub(crate) id: String,
    pub(crate) kind: JobKind,
    /// `InProgress`, `Succeeded` or `Failed`.
    pub(crate) status: String,
    pub(crate) status_details: Option<String>,
    /// `(code, message)` of a failed job.
    pub(crate) error: Option<(String, String)>,
    pub(crate) start: i64,
    pub(crate) end: Option<i64>,
    /// The backup folder's URL, once a backup succeeded.
    pub(crate) folder_url: Option<String>,
}

impl Job {
    pub(crate) fn new(kind: JobKind, start: i64) -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            kind,
            status: "InProgress".into(),
            status_details: None,
            error: None,
            start,
            end: None,
            folder_url: None,
        }
    }

    /// This job as it ends at `now` with `outcome` (a backup's folder URL
    /// is kept only when it succeeded).
    pub(crate) fn ended(&self, now: i64, outcome: Outcome, folder_url: Option<String>) -> Job {
        let mut job = self.clone();
        job.end = Some(now);
        match outcome {
            Ok(details) => {
                job.status = "Succeeded".into();
                job.status_details = details;
                job.folder_url = folder_url.filter(|_| job.kind == JobKind::Backup);
            }
            Err((code, message)) => {
                job.status = "Failed".into();
                job.error = Some((code, message));
            }
        }
        job
    }

    /// The status body (`FullBackupOperation` or `RestoreOperation`).
    pub(crate) fn render(&self) -> Value {
        let error = match &self.error {
            Some((code, message)) => json!({"code": code, "message": message}),
            None => Value::Null,
        };
        let mut v = json!({
            "status": self.status,
            "statusDetails": self.status_details,
            "error": error,
            "startTime": self.start,
            "endTime": self.end,
            "jobId": self.id,
        });
        if self.kind.is_backup() {
            v["azureStorageBlobContainerUri"] = json!(self.folder_url);
        }
        v
    }

    /// The status path, relative to the HSM URL.
    pub(crate) fn status_path(&self) -> String {
        let area = if self.kind.is_backup() {
            "backup"
        } else {
            "restore"
        };
        format!("/{area}/{}/pending", self.id)
    }
}

/// How a job ended.
pub(crate) type Outcome = Result<Option<String>, (String, String)>;

/// Marks the jobs that were running when the emulator stopped (killed,
/// crashed, or shut down mid-job) as failed at `now`, with an error that
/// says they were interrupted; returns the ones it changed, to be stored.
/// A job's record is stored when it starts, so no job is ever unknown after
/// a restart, nor running forever.
pub(crate) fn fail_interrupted<'a>(
    jobs: impl Iterator<Item = &'a mut Job>,
    now: i64,
) -> Vec<&'a Job> {
    let interrupted = (
        "JobInterrupted".to_owned(),
        "The job was interrupted: the emulator stopped while it was running. Start it again."
            .to_owned(),
    );
    jobs.filter(|j| j.status == "InProgress")
        .map(|j| {
            *j = j.ended(now, Err(interrupted.clone()), None);
            &*j
        })
        .collect()
}

/// The backup folder's manifest.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    created: i64,
    /// Stored key names (lower case).
    keys: Vec<String>,
}

/// Custom roles and assignments, as backed up.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Rbac {
    definitions: BTreeMap<String, RoleDefinition>,
    assignments: BTreeMap<String, RoleAssignment>,
}

fn aad(name: &str) -> Vec<u8> {
    format!("keyvault-emulator hsm backup v1:{name}").into_bytes()
}

fn seal(key: &[u8; 32], name: &str, plain: &[u8]) -> Result<Vec<u8>, (String, String)> {
    sealing::seal(key, SEAL_VERSION, &aad(name), plain)
        .ok_or_else(|| internal("The backup could not be sealed."))
}

fn open(key: &[u8; 32], name: &str, raw: &[u8]) -> Result<Vec<u8>, (String, String)> {
    sealing::open(key, SEAL_VERSION, &aad(name), raw).ok_or_else(|| corrupt(name))
}

fn internal(message: &str) -> (String, String) {
    ("InternalError".into(), message.into())
}

fn corrupt(name: &str) -> (String, String) {
    (
        "InvalidBackup".into(),
        format!(
            "The backup blob '{name}' is corrupt or was not made by this emulator (its backup key differs)."
        ),
    )
}

fn storage_error(e: StorageError) -> (String, String) {
    (e.code, e.message)
}

/// The folder name for a backup taken at `now` (Unix seconds) by `hsm`.
pub(crate) fn folder_name(hsm: &str, now: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let centis = rand::rng().next_u32() % 100;
    format!(
        "mhsm-{hsm}-{:04}{:02}{:02}{:02}{:02}{:02}{centis:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A backup folder of a container, with the key its blobs are sealed under.
pub(crate) struct Folder<'a> {
    pub(crate) storage: &'a Storage,
    pub(crate) container: &'a Container,
    pub(crate) name: &'a str,
    pub(crate) key: &'a [u8; 32],
}

impl Folder<'_> {
    /// Writes `snapshot` into the folder.
    pub(crate) async fn backup(&self, snapshot: &Snapshot, now: i64) -> Outcome {
        let mut names = Vec::new();
        for (name, k) in &snapshot.keys {
            self.put_sealed(&format!("keys/{name}"), k).await?;
            names.push(name.clone());
        }
        let rbac = Rbac {
            definitions: snapshot.state.definitions.clone(),
            assignments: snapshot.state.assignments.clone(),
        };
        self.put_sealed("rbac", &rbac).await?;
        self.put_sealed("settings", &snapshot.state.settings)
            .await?;
        let manifest = Manifest {
            format: FORMAT.into(),
            version: 1,
            created: now,
            keys: names,
        };
        self.put("manifest.json", encode(&manifest)?).await?;
        Ok(None)
    }

    async fn put(&self, blob: &str, body: Vec<u8>) -> Result<(), (String, String)> {
        let path = format!("{}/{blob}", self.name);
        self.container
            .put(self.storage, &path, body)
            .await
            .map_err(storage_error)
    }

    async fn put_sealed<T: Serialize>(&self, blob: &str, v: &T) -> Result<(), (String, String)> {
        self.put(blob, seal(self.key, blob, &encode(v)?)?).await
    }

    async fn manifest(&self) -> Result<Manifest, (String, String)> {
        let folder = self.name;
        let raw = self
            .container
            .get(self.storage, &format!("{folder}/manifest.json"))
            .await
            .map_err(storage_error)?
            .ok_or_else(|| {
                (
                    "BackupNotFound".to_owned(),
                    format!(
                        "No backup was found in folder '{folder}' of {} (it has no manifest.json).",
                        self.container.folder_url("").trim_end_matches('/')
                    ),
                )
            })?;
        let m: Manifest = serde_json::from_slice(&raw).map_err(|_| corrupt("manifest.json"))?;
        if m.format != FORMAT || m.version != 1 {
            return Err(corrupt("manifest.json"));
        }
        Ok(m)
    }

    async fn sealed_json<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<T, (String, String)> {
        let raw = (self.container)
            .get(self.storage, &format!("{}/{name}", self.name))
            .await
            .map_err(storage_error)?
            .ok_or_else(|| corrupt(name))?;
        let plain = open(self.key, name, &raw)?;
        serde_json::from_slice(&plain).map_err(|_| corrupt(name))
    }

    /// Reads the whole folder.
    pub(crate) async fn read_state(&self) -> Result<Snapshot, (String, String)> {
        let m = self.manifest().await?;
        let mut state = Snapshot::default();
        for name in &m.keys {
            let k: StoredKey = self.sealed_json(&format!("keys/{name}")).await?;
            if k.name.to_ascii_lowercase() != *name || k.latest().is_none() {
                return Err(corrupt(&format!("keys/{name}")));
            }
            state.keys.insert(name.clone(), k);
        }
        let rbac: Rbac = self.sealed_json("rbac").await?;
        state.state.definitions = rbac.definitions;
        state.state.assignments = rbac.assignments;
        state.state.settings = self.sealed_json("settings").await?;
        Ok(state)
    }

    /// Reads one key of the folder.
    pub(crate) async fn read_key(&self, name: &str) -> Result<StoredKey, (String, String)> {
        let m = self.manifest().await?;
        let lower = name.to_ascii_lowercase();
        if !m.keys.contains(&lower) {
            return Err((
                "KeyNotFound".into(),
                format!(
                    "The backup in folder '{}' has no key named '{name}'.",
                    self.name
                ),
            ));
        }
        let blob = format!("keys/{lower}");
        let k: StoredKey = self.sealed_json(&blob).await?;
        if k.name.to_ascii_lowercase() != lower || k.latest().is_none() {
            return Err(corrupt(&blob));
        }
        Ok(k)
    }

    /// The pre-restore check: the folder holds a backup this emulator can read.
    pub(crate) async fn pre_restore(&self) -> Outcome {
        let _m = self.manifest().await?;
        let _rbac: Rbac = self.sealed_json("rbac").await?;
        Ok(None)
    }
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, (String, String)> {
    serde_json::to_vec(v).map_err(|_| internal("The backup could not be encoded."))
}

/// The pre-backup check: the container can be listed with these credentials.
pub(crate) async fn pre_backup(storage: &Storage, container: &Container) -> Outcome {
    container
        .list(storage, "mhsm-", 1)
        .await
        .map_err(storage_error)?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_binds_the_blob_name() {
        let key = [3u8; 32];
        let sealed = seal(&key, "keys/a", b"{}").unwrap();
        assert_eq!(open(&key, "keys/a", &sealed).unwrap(), b"{}");
        assert!(open(&key, "keys/b", &sealed).is_err());
        assert!(open(&[4u8; 32], "keys/a", &sealed).is_err());
        assert!(open(&key, "keys/a", b"short").is_err());
    }

    #[test]
    fn folder_names_look_like_the_service() {
        let f = folder_name("myhsm", 1_648_517_703);
        assert!(f.starts_with("mhsm-myhsm-20220329013503"), "{f}");
        assert_eq!(f.len(), "mhsm-myhsm-".len() + 16);
    }

    #[test]
    fn running_jobs_read_as_interrupted_after_a_restart() {
        let mut jobs = [Job::new(JobKind::Backup, 1), Job::new(JobKind::Restore, 2)];
        jobs[1] = jobs[1].ended(3, Ok(None), None);
        let changed: Vec<String> = fail_interrupted(jobs.iter_mut(), 9)
            .into_iter()
            .map(|j| j.id.clone())
            .collect();
        assert_eq!(changed, [jobs[0].id.clone()]);
        let v = jobs[0].render();
        assert_eq!(v["status"], "Failed");
        assert_eq!(v["endTime"], 9);
        assert_eq!(v["error"]["code"], "JobInterrupted");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("interrupted")
        );
        assert_eq!(
            jobs[1].render()["status"],
            "Succeeded",
            "ended jobs are kept"
        );
    }

    #[test]
    fn status_bodies() {
        let mut j = Job::new(JobKind::Backup, 5);
        let v = j.render();
        assert_eq!(v["status"], "InProgress");
        assert!(v["azureStorageBlobContainerUri"].is_null());
        assert!(
            v.as_object()
                .unwrap()
                .contains_key("azureStorageBlobContainerUri")
        );
        j.kind = JobKind::Restore;
        assert!(
            !j.render()
                .as_object()
                .unwrap()
                .contains_key("azureStorageBlobContainerUri")
        );
        assert_eq!(j.status_path(), format!("/restore/{}/pending", j.id));
    }
}
