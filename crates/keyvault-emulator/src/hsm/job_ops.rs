//! Starting backup and restore jobs, recording their end, and applying a
//! restore to the HSM state.

use std::sync::Arc;

use http::{HeaderValue, header};
use serde_json::Value;

use super::jobs::{self, Job, JobKind};
use super::keys::StoredKey;
use super::rbac::action;
use super::{Hsm, Result, Snapshot, blob, hsm_name, require};
use crate::api_version::ApiVersion;
use crate::error::{ServiceError, json_response};
use crate::objects::request::{opt_string, parse_object};
use crate::server::{HttpResponse, Request};
use crate::service::Ctx;
use crate::store::{Op, replace_ops};

impl Hsm {
    pub(super) fn job_status(&self, id: &str, backup: bool) -> Result<HttpResponse> {
        let jobs = self.lock_jobs();
        let job = jobs
            .get(&id.to_ascii_lowercase())
            .filter(|j| j.kind.is_backup() == backup)
            .ok_or_else(|| {
                ServiceError::new(
                    404,
                    "JobNotFound",
                    format!("No job with id {id} was found."),
                )
            })?;
        let mut resp = json_response(200, &job.render());
        if job.status == "InProgress" {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        Ok(resp)
    }

    /// Records a new job durably and answers 202 with its status URL.
    pub(super) fn accept_job(&self, req: &Request, job: &Job) -> Result<HttpResponse> {
        let mut jobs = self.lock_jobs();
        self.store.put(self.tables.jobs, &job.id, job)?;
        jobs.insert(job.id.clone(), job.clone());
        let mut resp = json_response(202, &job.render());
        let url = format!("{}{}", req.base_url, job.status_path());
        if let Ok(v) = HeaderValue::from_str(&url) {
            resp.headers_mut().insert("azure-asyncoperation", v);
        }
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        Ok(resp)
    }

    /// Ends a job: records the outcome durably, then shows it. When the end
    /// cannot be stored the job is shown as failed, which is what it will
    /// be after a restart too (`JobInterrupted`): a succeeded status is
    /// never shown unless it is stored.
    pub(super) fn finish(&self, id: &str, outcome: jobs::Outcome, folder_url: Option<String>) {
        let now = self.clock.now();
        let mut jobs = self.lock_jobs();
        let Some(current) = jobs.get(id) else { return };
        let mut job = current.ended(now, outcome, folder_url);
        let stored = self.store.put(self.tables.jobs, id, &job);
        if stored.is_err() {
            tracing::error!(job = id, "cannot persist a job's end");
            job.status = "Failed".into();
            job.status_details = None;
            job.folder_url = None;
            job.error = Some((
                "JobStatusNotStored".into(),
                "The job's outcome could not be stored; start it again.".into(),
            ));
        }
        tracing::info!(job = id, kind = ?job.kind, status = %job.status, "HSM job ended");
        jobs.insert(id.to_owned(), job);
    }

    /// `POST /backup` or (`pre`, from `7.6-preview.2`) `/prebackup`.
    pub(super) fn start_backup(self: &Arc<Self>, c: &Ctx<'_>, pre: bool) -> Result<HttpResponse> {
        let req = c.req;
        if pre {
            require(c.api, ApiVersion::V7_6_PREVIEW_2, "prebackup")?;
        }
        let container = parse_sas(&parse_object(&req.body)?)?;
        let now = self.clock.now();
        let kind = if pre {
            JobKind::PreBackup
        } else {
            JobKind::Backup
        };
        let job = Job::new(kind, now);
        let folder = jobs::folder_name(&hsm_name(&req.base_url), now);
        let folder_url = container.folder_url(&folder);
        let resp = self.accept_job(req, &job)?;
        let hsm = self.clone();
        let snapshot = self.snapshot();
        self.spawn_job(async move {
            let outcome = if pre {
                jobs::pre_backup(&hsm.storage, &container).await
            } else {
                let f = jobs::Folder {
                    storage: &hsm.storage,
                    container: &container,
                    name: &folder,
                    key: &hsm.backup_key,
                };
                f.backup(&snapshot, now).await
            };
            let id = job.id.clone();
            let _ = tokio::task::spawn_blocking(move || hsm.finish(&id, outcome, Some(folder_url)))
                .await;
        });
        Ok(resp)
    }

    /// A full restore, a pre-restore check (from `7.6-preview.2`) or a
    /// selective key restore (which needs an HSM-wide restore right or the
    /// key's own).
    pub(super) fn start_restore(
        self: &Arc<Self>,
        c: &Ctx<'_>,
        kind: JobKind,
    ) -> Result<HttpResponse> {
        let (req, mut key) = (c.req, None);
        if kind == JobKind::PreRestore {
            require(c.api, ApiVersion::V7_6_PREVIEW_2, "prerestore")?;
        } else if kind == JobKind::SelectiveRestore {
            let scope = format!("/keys/{}", c.name());
            (self.authorize(c.caller, action::RESTORE_START, "/"))
                .or_else(|_| self.authorize(c.caller, action::KEYS_RESTORE, &scope))?;
            key = Some(c.name().to_owned());
        }
        let m = parse_object(&req.body)?;
        let sas = match m.get("sasTokenParameters") {
            Some(Value::Object(s)) => s.clone(),
            _ => {
                return Err(ServiceError::bad_parameter(
                    "Property 'sasTokenParameters' is required and must be an object.",
                ));
            }
        };
        let container = parse_sas(&sas)?;
        let folder_field = if kind == JobKind::SelectiveRestore {
            "folder"
        } else {
            "folderToRestore"
        };
        let folder = match m.get(folder_field) {
            Some(Value::String(f)) if !f.trim().trim_matches('/').is_empty() => {
                f.trim().trim_matches('/').to_owned()
            }
            _ => {
                return Err(ServiceError::bad_parameter(format!(
                    "Property '{folder_field}' is required and must be a folder name."
                )));
            }
        };
        let job = Job::new(kind, self.clock.now());
        let resp = self.accept_job(req, &job)?;
        let hsm = self.clone();
        self.spawn_job(async move {
            let (id, job_id) = (job.id.clone(), job.id.clone());
            let f = jobs::Folder {
                storage: &hsm.storage,
                container: &container,
                name: &folder,
                key: &hsm.backup_key,
            };
            let outcome = match kind {
                JobKind::PreRestore => f.pre_restore().await,
                JobKind::SelectiveRestore => match f.read_key(&key.unwrap_or_default()).await {
                    Ok(k) => on_pool(&hsm, move |h| h.merge_key(k)).await,
                    Err(e) => Err(e),
                },
                _ => match f.read_state().await {
                    Ok(state) => on_pool(&hsm, move |h| h.replace_state(state, &id)).await,
                    Err(e) => Err(e),
                },
            };
            let _ = tokio::task::spawn_blocking(move || hsm.finish(&job_id, outcome, None)).await;
        });
        Ok(resp)
    }

    /// A full restore by the job `job_id`: commits the whole new state and
    /// the job's success in one transaction, then swaps the state in. On
    /// any failure nothing changes; a crash leaves either the old state and
    /// an interrupted job, or the new state and a succeeded one.
    pub(super) fn replace_state(&self, new: Snapshot, job_id: &str) -> jobs::Outcome {
        let job = self.lock_jobs().get(job_id).cloned();
        let job_end = job.map(|j| j.ended(self.clock.now(), Ok(None), None));
        let _writing = self.lock_writes();
        let state = self.lock();
        let (old, rest) = (&*state, &new.state);
        let ops = [
            replace_ops(
                self.tables.definitions,
                old.definitions.keys(),
                &rest.definitions,
            ),
            replace_ops(
                self.tables.assignments,
                old.assignments.keys(),
                &rest.assignments,
            ),
            replace_ops(self.tables.settings, old.settings.keys(), &rest.settings),
        ];
        let mut ops = ops
            .into_iter()
            .collect::<Result<Vec<_>>>()
            .map_err(|_| job_internal())?;
        if let Some(job) = &job_end {
            let record = crate::store::encode(job).map_err(|_| job_internal())?;
            ops.push(vec![Op::Put(self.tables.jobs, job.id.clone(), record)]);
        }
        drop(state);
        (self.keys)
            .replace(new.keys, ops.into_iter().flatten().collect())
            .map_err(|_| job_internal())?;
        *self.lock() = new.state;
        Ok(None)
    }

    /// A selective key restore: versions the HSM lacks are added; existing
    /// versions are not overwritten.
    pub(super) fn merge_key(&self, backup: StoredKey) -> jobs::Outcome {
        let (restored, skipped) = self.keys.merge(backup).map_err(|e| match e.status {
            500 => job_internal(),
            _ => (e.code.to_owned(), e.message),
        })?;
        Ok(Some(format!(
            "Number of successful key versions restored: {restored}, Number of key versions could not overwrite: {skipped}"
        )))
    }
}

/// Runs `f` on the blocking pool (durable commits block).
async fn on_pool(
    hsm: &Arc<Hsm>,
    f: impl FnOnce(&Hsm) -> jobs::Outcome + Send + 'static,
) -> jobs::Outcome {
    let h = hsm.clone();
    (tokio::task::spawn_blocking(move || f(&h)).await).unwrap_or_else(|_| Err(job_internal()))
}

fn job_internal() -> (String, String) {
    (
        "InternalError".into(),
        "The job could not be completed.".into(),
    )
}

/// Reads `storageResourceUri`, `token` and `useManagedIdentity`.
fn parse_sas(m: &serde_json::Map<String, Value>) -> Result<blob::Container> {
    let uri = match m.get("storageResourceUri") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(ServiceError::bad_parameter(
                "Property 'storageResourceUri' is required and must be a blob container URL.",
            ));
        }
    };
    let token = opt_string(m, "token")?;
    let managed = match m.get("useManagedIdentity") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ServiceError::bad_parameter(
                "Property 'useManagedIdentity' must be a boolean.",
            ));
        }
    };
    blob::Container::parse(&uri, token.as_deref(), managed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::hsm::{HsmConfig, RbacMode};
    use crate::objects::Retention;
    use crate::store::Store;

    fn hsm() -> Arc<Hsm> {
        let config = HsmConfig {
            soft_delete: Retention {
                retention_days: 7,
                purge_protection: false,
            },
            rbac: RbacMode::Off,
            admins: Vec::new(),
            storage: Default::default(),
        };
        Hsm::open(
            crate::DEFAULT_NAME,
            Arc::new(Store::in_memory()),
            Clock::new(),
            config,
            [0; 32],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_job_end_that_cannot_be_stored_is_not_shown_as_succeeded() {
        let hsm = hsm();
        let folder = "http://storage/c/folder";
        for (fail, status, url, error) in [
            (true, "Failed", None, Some("JobStatusNotStored")),
            (false, "Succeeded", Some(folder), None),
        ] {
            let job = Job::new(JobKind::Backup, 1);
            hsm.lock_jobs().insert(job.id.clone(), job.clone());
            hsm.store.fail_commits(fail);
            hsm.finish(&job.id, Ok(None), Some(folder.into()));
            let shown = hsm.lock_jobs()[&job.id].clone();
            assert_eq!(shown.status, status);
            assert_eq!(shown.folder_url.as_deref(), url);
            assert_eq!(shown.error.map(|(code, _)| code).as_deref(), error);
        }
    }
}
