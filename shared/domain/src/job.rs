//! Import and export jobs: what was asked, where the job stands, what it found. A job is a
//! record of its business; its files live in the blob store under the business's prefix.

use crate::Id;
use crate::bulk::RowError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most data rows one import file may hold.
pub const MAX_IMPORT_ROWS: u64 = 100_000;
/// The largest import file (uploaded through a presigned URL; an upload in the request body is
/// limited to 5 MB, what a Lambda request carries).
pub const MAX_IMPORT_BYTES: u64 = 64 * 1024 * 1024;
/// Refused rows kept on the job itself (all of them are in the error report).
pub const FIRST_ERRORS: usize = 20;
/// How long a download or upload link works.
pub const LINK_MINUTES: i64 = 60;
/// Jobs are kept (with their files) this long after they end.
pub const KEEP_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobResource {
    Athletes,
    Tests,
}

impl JobResource {
    pub fn parse(s: &str) -> Option<JobResource> {
        match s {
            "athletes" => Some(JobResource::Athletes),
            "tests" => Some(JobResource::Tests),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            JobResource::Athletes => "athletes",
            JobResource::Tests => "tests",
        }
    }
}

/// An import file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// A spreadsheet export: UTF-8 (BOM or not), `,` `;` or tab, a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// One JSON array (exports only).
    Json,
}

impl FileFormat {
    pub fn parse(s: &str) -> Option<FileFormat> {
        match s {
            "csv" => Some(FileFormat::Csv),
            "jsonl" => Some(FileFormat::Jsonl),
            "json" => Some(FileFormat::Json),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Jsonl => "jsonl",
            FileFormat::Json => "json",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Created with an upload link; waits for the file and `POST …/start`.
    AwaitingUpload,
    Queued,
    Running,
    Succeeded,
    /// The job could not run (the reason is in `failure`): a missing or unreadable file, a
    /// mapping that doesn't fit the header, too many rows.
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled)
    }
}

/// Counts of what became of the rows so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: u64,
}

/// Where an import stopped: rows before `rows_done` are done, and the next row starts at byte
/// `offset` of the file. Written in the same transaction as the rows it covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub rows_done: u64,
    pub offset: u64,
}

/// The file as the job found it when it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileLayout {
    pub bytes: u64,
    pub total_rows: u64,
    /// Where the first data row starts (after a BOM and the header row).
    pub data_offset: u64,
    /// CSV: the delimiter and the header row.
    pub delimiter: Option<u8>,
    pub headers: Vec<String>,
    /// Headers no field takes (reported, never an error).
    pub ignored_columns: Vec<String>,
}

/// What an export was asked for: the resource, the columns and the filters (as the inline
/// export's query parameters have them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportSpec {
    pub fields: Vec<String>,
    pub filters: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Import,
    Export,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: Id,
    pub kind: JobKind,
    pub resource: JobResource,
    pub format: FileFormat,
    pub status: JobStatus,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub update_existing: bool,
    /// Import: the client's column mapping (header → field).
    #[serde(default)]
    pub mapping: BTreeMap<String, String>,
    #[serde(default)]
    pub export: ExportSpec,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub layout: Option<FileLayout>,
    #[serde(default)]
    pub checkpoint: Checkpoint,
    #[serde(default)]
    pub counts: JobCounts,
    /// The first refused rows (all are in the error report).
    #[serde(default)]
    pub first_errors: Vec<RowError>,
    /// Export: records and bytes written.
    #[serde(default)]
    pub rows_written: u64,
    #[serde(default)]
    pub bytes_written: u64,
    pub failure: Option<String>,
    /// Bumped by every write of the job: a worker's checkpoint and a cancel never both win.
    #[serde(default)]
    pub version: u64,
}

impl Job {
    pub fn new(id: Id, kind: JobKind, resource: JobResource, format: FileFormat, now: DateTime<Utc>) -> Job {
        Job {
            id,
            kind,
            resource,
            format,
            status: JobStatus::Queued,
            dry_run: false,
            update_existing: false,
            mapping: BTreeMap::new(),
            export: ExportSpec::default(),
            created_at: now,
            started_at: None,
            finished_at: None,
            layout: None,
            checkpoint: Checkpoint::default(),
            counts: JobCounts::default(),
            first_errors: Vec::new(),
            rows_written: 0,
            bytes_written: 0,
            failure: None,
            version: 0,
        }
    }

    /// The name of the job's uploaded file in the blob store.
    pub fn upload_name(&self) -> String {
        format!("upload.{}", if self.format == FileFormat::Csv { "csv" } else { "jsonl" })
    }

    /// The name of the export file.
    pub fn export_name(&self) -> String {
        format!("{}.{}", self.resource.as_str(), self.format.as_str())
    }

    /// Adds refused rows, keeping the first [`FIRST_ERRORS`].
    pub fn note_errors(&mut self, errors: &[RowError]) {
        let room = FIRST_ERRORS.saturating_sub(self.first_errors.len());
        self.first_errors.extend(errors.iter().take(room).cloned());
    }

    pub fn fail(&mut self, reason: impl Into<String>, now: DateTime<Utc>) {
        self.status = JobStatus::Failed;
        self.failure = Some(reason.into());
        self.finished_at = Some(now);
    }
}
