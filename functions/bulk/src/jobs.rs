//! What import and export jobs answer with, and what both kinds share: the queue message that
//! starts a job's run and the links to its files.

use crate::BulkState;
use chrono::{DateTime, Utc};
use iron_domain::bulk::RowError;
use iron_domain::job::{FileFormat, Job, JobCounts, JobKind, JobResource, JobStatus, LINK_MINUTES};
use iron_domain::{IdKind, Scope};
use iron_http::{ApiError, Principal};
use iron_imports::job::{error_report_key, export_key, row_number};
use iron_store::TenantDb;
use iron_store::repo::{RepoError, jobs};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use utoipa::ToSchema;

/// A link to a file: GET it (or PUT, for an upload) before `expiresAt`, with `headers`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkOut {
    pub url: String,
    /// `GET` or `PUT`.
    pub method: String,
    /// Headers the request must carry as given (an upload's `Content-Type`).
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

impl From<iron_store::Presigned> for LinkOut {
    fn from(p: iron_store::Presigned) -> LinkOut {
        LinkOut {
            url: p.url,
            method: p.method.to_owned(),
            headers: p.headers.into_iter().collect(),
            expires_at: p.expires_at,
        }
    }
}

/// Rows done out of the file's rows (known once the job has read the file).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProgressOut {
    pub rows_done: u64,
    pub total_rows: Option<u64>,
    /// 0–100.
    pub percent: u8,
}

/// A refused row as the job reports it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobErrorOut {
    /// The row as a spreadsheet numbers it (the header is row 1); in JSON lines, the record's
    /// 1-based number.
    pub row: usize,
    #[serde(flatten)]
    pub error: RowError,
}

/// An import or export job.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobOut {
    /// `imp_…` or `exp_…`.
    pub id: String,
    #[schema(value_type = String, example = "import")]
    pub kind: &'static str,
    #[serde(rename = "type")]
    pub resource: JobResource,
    pub format: FileFormat,
    pub status: JobStatus,
    pub dry_run: bool,
    pub update_existing: bool,
    /// Import: the column mapping sent (header → field).
    pub mapping: BTreeMap<String, String>,
    pub progress: ProgressOut,
    pub counts: JobCounts,
    /// The first refused rows; all of them are in `errorReport`.
    pub first_errors: Vec<JobErrorOut>,
    /// Columns of the file that no field takes (ignored).
    pub ignored_columns: Vec<String>,
    /// Import, once it has ended with refused rows: the CSV of every one (row, field, code,
    /// message).
    pub error_report: Option<LinkOut>,
    /// Export, once done: the file.
    pub download: Option<LinkOut>,
    /// Export: records and bytes written.
    pub rows_written: u64,
    pub bytes_written: u64,
    /// Why a failed job failed.
    pub failure: Option<String>,
    /// While `awaiting_upload`: where to PUT the file (then `POST /imports/{id}/start`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<LinkOut>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job as it is answered, with fresh links to its files.
pub async fn out(state: &BulkState, db: TenantDb<'_>, job: Job, upload: Option<LinkOut>) -> Result<JobOut, ApiError> {
    let expires = state.api.now() + chrono::Duration::minutes(LINK_MINUTES);
    let blob_err = |e: iron_store::StoreError| ApiError::Internal(format!("blob store: {e}"));
    let error_report = if job.kind == JobKind::Import && job.status == JobStatus::Succeeded && job.counts.refused > 0 {
        let name = format!("{}-errors.csv", job.id);
        Some(state.blobs.download_url(&error_report_key(db, &job), &name, expires).await.map_err(blob_err)?.into())
    } else {
        None
    };
    let download = if job.kind == JobKind::Export && job.status == JobStatus::Succeeded {
        Some(
            state
                .blobs
                .download_url(&export_key(db, &job), &job.export_name(), expires)
                .await
                .map_err(blob_err)?
                .into(),
        )
    } else {
        None
    };
    let total = job.layout.as_ref().map(|l| l.total_rows);
    let done = job.checkpoint.rows_done;
    let percent = match (job.status, total) {
        (JobStatus::Succeeded, _) => 100,
        (_, Some(t)) if t > 0 => ((done * 100) / t).min(100) as u8,
        _ => 0,
    };
    Ok(JobOut {
        id: job.id.to_string(),
        kind: if job.kind == JobKind::Import { "import" } else { "export" },
        resource: job.resource,
        format: job.format,
        status: job.status,
        dry_run: job.dry_run,
        update_existing: job.update_existing,
        mapping: job.mapping,
        progress: ProgressOut { rows_done: done, total_rows: total, percent },
        counts: job.counts,
        first_errors: job
            .first_errors
            .into_iter()
            .map(|e| JobErrorOut { row: row_number(job.format, e.index), error: e })
            .collect(),
        ignored_columns: job.layout.map(|l| l.ignored_columns).unwrap_or_default(),
        error_report,
        download,
        rows_written: job.rows_written,
        bytes_written: job.bytes_written,
        failure: job.failure,
        upload,
        created_at: job.created_at,
        started_at: job.started_at,
        finished_at: job.finished_at,
    })
}

/// `202 Accepted` with the job and its `Location`.
pub async fn accepted(state: &BulkState, db: TenantDb<'_>, job: Job) -> Result<axum::response::Response, ApiError> {
    let path = format!("/{}/{}", if job.kind == JobKind::Import { "imports" } else { "exports" }, job.id);
    Ok(iron_http::accepted(&path, out(state, db, job, None).await?))
}

/// The job a path names, for a key with one of `scopes`: 404 when this business has none.
/// The caller still checks the scope the job's type needs.
pub async fn find(principal: &Principal, raw: &str, kind: IdKind, scopes: &[Scope]) -> Result<Job, ApiError> {
    let what = if kind == IdKind::Import { "import" } else { "export" };
    let tenant = principal.require_any(scopes)?;
    let id = iron_http::path_id(kind, raw, what)?;
    match jobs::get(tenant.db(), &id).await {
        Err(RepoError::NotFound) => Err(ApiError::NotFound(format!("no {what} `{raw}` in this business"))),
        other => Ok(other?),
    }
}

/// The message that starts (or continues) a job's run on the jobs queue.
pub fn message(db: TenantDb<'_>, job: &Job) -> String {
    serde_json::json!({ "businessId": db.business_id(), "jobId": job.id }).to_string()
}

/// Queues a run of the job. If the send fails the job stays `queued` and the answer says so
/// (503): the client may retry `POST …/start` (imports) or make the export again.
pub async fn enqueue(state: &BulkState, db: TenantDb<'_>, job: &Job) -> Result<(), ApiError> {
    state.jobs.send(&message(db, job), Duration::ZERO).await.map_err(|e| {
        tracing::error!(error = %e, job = %job.id, "could not queue a job");
        ApiError::Unavailable
    })?;
    Ok(())
}
