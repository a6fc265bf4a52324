//! Running import and export jobs: what the jobs worker does with a job's message.
//!
//! An import reads its file [`CHUNK_ROWS`] rows at a time from the row after its checkpoint,
//! plans them by the bulk endpoints' rules and commits them group by group; each group's
//! transaction carries the job's new checkpoint (rows done, the next row's byte offset, the
//! counts) and the rows it refused, conditioned on the job's version. So a group and the
//! progress that records it commit together or not at all: a worker killed anywhere resumes at
//! the last checkpoint and ends with the result of an uninterrupted run, and a cancel (which
//! bumps the version) stops the worker at its next group. A run stops by itself at its
//! deadline and asks to be continued ([`Step::More`]), so no run nears a function's timeout.
//!
//! An export writes the whole file to the blob store as a stream (multipart on S3), then marks
//! the job done; a run that dies is simply run again from the start (the file appears only
//! when finished).

use crate::export::{self, Source, Writer};
use crate::file::{self, FileError, RowReader};
use crate::plan::{self, Batch, BatchKeys, Options, RowKind};
use crate::{Report, RowOutcome};
use iron_domain::bulk::RowError;
use iron_domain::job::{
    Checkpoint, FileFormat, Job, JobKind, JobResource, JobStatus, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS,
};
use iron_domain::{Id, athlete, fitness_test};
use iron_store::repo::bulk::{self, GroupResult};
use iron_store::repo::{RepoError, RepoResult, jobs};
use iron_store::{BlobStore, Clock, TenantDb, TxOp, keys};
use std::time::Instant;

/// Rows planned together (their writes then go in transactions of up to 100 operations).
pub const CHUNK_ROWS: usize = 200;

/// Numeric leaves of a test row's columns (a CSV cell is text otherwise): the body mass and
/// every stage field.
static TEST_NUMERIC_FIELDS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    let mut fields = vec!["bodyMassKg"];
    fields.extend_from_slice(fitness_test::STAGE_FIELDS);
    fields
});

/// What a job's run needs.
pub struct Env<'a> {
    pub db: TenantDb<'a>,
    pub blobs: &'a dyn BlobStore,
    pub clock: &'a dyn Clock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing more to do with this job (done, failed, cancelled, or another worker has it).
    Done,
    /// The run reached its deadline: continue in another.
    More,
}

fn kind_of(resource: JobResource) -> (RowKind, &'static [&'static str], &'static [&'static str]) {
    match resource {
        JobResource::Athletes => (RowKind::Athletes, athlete::FIELDS, &[]),
        JobResource::Tests => (RowKind::Tests, fitness_test::FIELDS, TEST_NUMERIC_FIELDS.as_slice()),
    }
}

/// Runs the job until it ends or `deadline` passes.
pub async fn run(env: &Env<'_>, id: &Id, deadline: Instant) -> RepoResult<Step> {
    let job = match jobs::get(env.db, id).await {
        Ok(j) => j,
        // Expired or never made: nothing to do.
        Err(RepoError::NotFound) => return Ok(Step::Done),
        Err(e) => return Err(e),
    };
    if job.status.is_final() || job.status == JobStatus::AwaitingUpload {
        return Ok(Step::Done);
    }
    match job.kind {
        JobKind::Import => run_import(env, job, deadline).await,
        JobKind::Export => run_export(env, job).await,
    }
}

/// Saves the job; `false` when someone else wrote it meanwhile (a cancel, another worker).
async fn save(env: &Env<'_>, job: &mut Job) -> RepoResult<bool> {
    match jobs::save(env.db, job).await {
        Ok(()) => Ok(true),
        Err(RepoError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn fail(env: &Env<'_>, mut job: Job, reason: String) -> RepoResult<Step> {
    tracing::info!(job = %job.id, reason = %reason, "import failed");
    job.fail(reason, env.clock.now());
    save(env, &mut job).await?;
    Ok(Step::Done)
}

fn upload_key(env: &Env<'_>, job: &Job) -> String {
    keys::blob_key(env.db.scope(), &job.id, &job.upload_name())
}

/// The key of a job's error report.
pub fn error_report_key(db: TenantDb<'_>, job: &Job) -> String {
    keys::blob_key(db.scope(), &job.id, "errors.csv")
}

/// The key of an export job's file.
pub fn export_key(db: TenantDb<'_>, job: &Job) -> String {
    keys::blob_key(db.scope(), &job.id, &job.export_name())
}

async fn run_import(env: &Env<'_>, mut job: Job, deadline: Instant) -> RepoResult<Step> {
    let key = upload_key(env, &job);
    let (kind, fields, numeric) = kind_of(job.resource);
    if job.layout.is_none() {
        match file::layout(env.blobs, &key, job.format, &job.mapping, fields).await {
            Ok((layout, _)) if layout.bytes > MAX_IMPORT_BYTES => {
                let reason = format!("the file has {} bytes; an import takes at most {MAX_IMPORT_BYTES}", layout.bytes);
                return fail(env, job, reason).await;
            }
            Ok((layout, _)) if layout.total_rows > MAX_IMPORT_ROWS => {
                let reason = format!("the file has over {MAX_IMPORT_ROWS} rows; split it into several imports");
                return fail(env, job, reason).await;
            }
            Ok((layout, _)) => {
                job.checkpoint = Checkpoint { rows_done: 0, offset: layout.data_offset };
                job.layout = Some(layout);
                job.status = JobStatus::Running;
                job.started_at = Some(env.clock.now());
                if !save(env, &mut job).await? {
                    return Ok(Step::Done);
                }
            }
            Err(FileError::Store(e)) => return Err(e.into()),
            Err(e) => return fail(env, job, e.to_string()).await,
        }
    }
    let layout = job.layout.clone().unwrap_or_default();
    let columns = file::columns_of(&layout, &job.mapping, fields);
    let delimiter = layout.delimiter.unwrap_or(b',');
    let options = Options { update_existing: job.update_existing };
    let import = job.id.to_string();
    let mut keys = BatchKeys::default();

    // What an earlier run of this job claimed (its rows are stored; the memory of them isn't).
    // Only athletes' claims come from the rows alone; a test's needs its athlete looked up, and
    // the tests an import wrote are told apart by their guards instead.
    if job.checkpoint.rows_done > 0 && kind == RowKind::Athletes {
        let mut batch = Batch {
            db: env.db,
            now: env.clock.now(),
            options,
            import: Some(&import),
            keys: &mut keys,
            ids_from: job.created_at,
        };
        let mut reader = RowReader::new(env.blobs, &key, job.format, delimiter, layout.data_offset, 0);
        let mut seen = 0;
        while seen < job.checkpoint.rows_done {
            let want = (job.checkpoint.rows_done - seen).min(5000) as usize;
            let rows = match reader.next_rows(want).await {
                Ok(r) => r,
                Err(FileError::Store(e)) => return Err(e.into()),
                Err(e) => return fail(env, job, e.to_string()).await,
            };
            if rows.is_empty() {
                break;
            }
            seen += rows.len() as u64;
            for row in &rows {
                if let Ok(body) = file::object(row, columns.as_ref(), numeric) {
                    plan::remember(&mut batch, kind, row.index as usize, &body);
                }
            }
        }
    }

    let mut reader =
        RowReader::new(env.blobs, &key, job.format, delimiter, job.checkpoint.offset, job.checkpoint.rows_done);
    // Every run does at least one chunk, however long the set-up took: a run never ends
    // without progress.
    let mut first = true;
    loop {
        if !first && Instant::now() >= deadline {
            return Ok(Step::More);
        }
        first = false;
        let rows = match reader.next_rows(CHUNK_ROWS).await {
            Ok(r) => r,
            Err(FileError::Store(e)) => return Err(e.into()),
            Err(e) => return fail(env, job, e.to_string()).await,
        };
        if rows.is_empty() {
            // The file must be the one the job counted (an upload link stays valid a while).
            let now_bytes = env.blobs.info(&key).await?.map(|i| i.size);
            if now_bytes != Some(layout.bytes) {
                let reason = "the uploaded file was replaced while the import ran; upload it to a new import";
                return fail(env, job, reason.into()).await;
            }
            return finish_import(env, job).await;
        }
        let chunk_end =
            Checkpoint { rows_done: rows.last().map(|r| r.index + 1).unwrap_or(0), offset: reader.offset() };
        let starts: Vec<(u64, u64)> = rows.iter().map(|r| (r.index, r.start)).collect();
        let mut parsed = Vec::new();
        let mut unreadable = Vec::new();
        for row in &rows {
            match file::object(row, columns.as_ref(), numeric) {
                Ok(body) => parsed.push((row.index as usize, body)),
                Err(e) => unreadable.push(e),
            }
        }
        let mut batch = Batch {
            db: env.db,
            now: env.clock.now(),
            options,
            import: Some(&import),
            keys: &mut keys,
            ids_from: job.created_at,
        };
        let mut planned = plan::plan(&mut batch, kind, parsed).await?;
        planned.refused.extend(unreadable);
        planned.refused.sort_by_key(|e| e.index);

        if job.dry_run {
            let report = crate::preview(planned);
            let next = advance(&job, &report, chunk_end.clone());
            let ops = checkpoint_ops(env.db, &job, &next, &report.errors);
            match bulk::commit_group(env.db, Vec::new(), None, &|_| ops.clone()).await {
                Ok(_) => job = next,
                Err(RepoError::Conflict { .. }) => return Ok(Step::Done),
                Err(e) => return Err(e),
            }
            continue;
        }

        // Writes in groups of one transaction each; rows refused in planning (or needing
        // nothing) are counted by the checkpoint of the first group that ends after them.
        let groups = bulk::groups(env.db.scope(), std::mem::take(&mut planned.writes), 2);
        let mut others = Report { rows: planned.unchanged, errors: planned.refused };
        let n = groups.len().max(1);
        let mut groups = groups.into_iter();
        for g in 0..n {
            let group = groups.next().unwrap_or_default();
            let end = match group.last() {
                Some(last) if g + 1 < n => {
                    let rows_done = last.index as u64 + 1;
                    let offset =
                        starts.iter().find(|(i, _)| *i == rows_done).map(|(_, s)| *s).unwrap_or(chunk_end.offset);
                    Checkpoint { rows_done, offset }
                }
                _ => chunk_end.clone(),
            };
            let covered = take_before(&mut others, end.rows_done);
            let tail = |result: &GroupResult| {
                let report = group_report(&covered, result);
                let next = advance(&job, &report, end.clone());
                checkpoint_ops(env.db, &job, &next, &report.errors)
            };
            match bulk::commit_group(env.db, group, Some(&import), &tail).await {
                Ok(result) => {
                    let report = group_report(&covered, &result);
                    job = advance(&job, &report, end.clone());
                }
                Err(RepoError::Conflict { field, .. }) if field == "tail" => return Ok(Step::Done),
                Err(e) => return Err(e),
            }
        }
    }
}

/// The rows (and errors) of `report` before row `end`, taken out of it.
fn take_before(report: &mut Report, end: u64) -> Report {
    let (before, after): (Vec<_>, Vec<_>) = report.rows.drain(..).partition(|r| (r.index as u64) < end);
    report.rows = after;
    let (errors, rest): (Vec<_>, Vec<_>) = report.errors.drain(..).partition(|e| (e.index as u64) < end);
    report.errors = rest;
    Report { rows: before, errors }
}

/// A group's outcome with the rows its checkpoint also covers.
fn group_report(covered: &Report, result: &GroupResult) -> Report {
    let mut report = covered.clone();
    report.rows.extend(result.written.iter().map(crate::result_of));
    report.errors.extend(result.refused.iter().cloned());
    report.errors.sort_by_key(|e| e.index);
    report
}

/// The job after `report`'s rows, checkpointed at `end`.
fn advance(job: &Job, report: &Report, end: Checkpoint) -> Job {
    let mut next = job.clone();
    next.counts.created += report.count(RowOutcome::Created) as u64;
    next.counts.updated += report.count(RowOutcome::Updated) as u64;
    next.counts.unchanged += report.count(RowOutcome::Unchanged) as u64;
    next.counts.refused += report.refused() as u64;
    next.note_errors(&report.errors);
    next.checkpoint = end;
    next.version = job.version + 1;
    next
}

fn checkpoint_ops(db: TenantDb<'_>, before: &Job, after: &Job, errors: &[RowError]) -> Vec<TxOp> {
    let mut ops = vec![jobs::save_op(db, before.version, after)];
    if !errors.is_empty() {
        ops.push(jobs::errors_op(db, after, after.checkpoint.rows_done, errors));
    }
    ops
}

/// The row number a person finds the row at: in a spreadsheet the header is row 1; in JSON
/// lines, the record's number.
pub fn row_number(format: FileFormat, index: usize) -> usize {
    if format == FileFormat::Csv { index + 2 } else { index + 1 }
}

/// Writes the error report (every refused row) and marks the job done.
async fn finish_import(env: &Env<'_>, mut job: Job) -> RepoResult<Step> {
    if job.counts.refused > 0 {
        let key = error_report_key(env.db, &job);
        let mut out = env.blobs.writer(&key, "text/csv; charset=utf-8").await?;
        let spool = crate::export::Spool::default();
        let mut csv = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(spool.clone());
        let io = |e: csv::Error| RepoError::Store(iron_store::StoreError::Backend(e.to_string()));
        csv.write_record(["row", "field", "code", "message"]).map_err(io)?;
        let mut cursor = None;
        loop {
            let (errors, next) = jobs::errors(env.db, &job.id, cursor).await?;
            for e in &errors {
                let code =
                    serde_json::to_value(e.code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                let row = row_number(job.format, e.index).to_string();
                csv.write_record([row.as_str(), e.field.as_str(), code.as_str(), e.message.as_str()]).map_err(io)?;
            }
            csv.flush().map_err(|e| RepoError::Store(iron_store::StoreError::Backend(e.to_string())))?;
            out.write(&spool.take()).await?;
            cursor = next;
            if cursor.is_none() {
                break;
            }
        }
        out.finish().await?;
    }
    job.status = JobStatus::Succeeded;
    job.finished_at = Some(env.clock.now());
    save(env, &mut job).await?;
    tracing::info!(job = %job.id, created = job.counts.created, updated = job.counts.updated, refused = job.counts.refused, "import finished");
    Ok(Step::Done)
}

async fn run_export(env: &Env<'_>, mut job: Job) -> RepoResult<Step> {
    job.status = JobStatus::Running;
    job.started_at = Some(env.clock.now());
    if !save(env, &mut job).await? {
        return Ok(Step::Done);
    }
    let known = match job.resource {
        JobResource::Athletes => export::ATHLETE_FIELDS,
        JobResource::Tests => export::TEST_FIELDS,
    };
    let requested = (!job.export.fields.is_empty()).then(|| job.export.fields.join(","));
    let fields = match export::select(known, requested.as_deref()) {
        Ok(f) => f,
        Err(unknown) => return fail(env, job, format!("`{unknown}` is not an exported field")).await,
    };
    let format = export::Format::from(job.format);
    let key = export_key(env.db, &job);
    let io = |e: std::io::Error| RepoError::Store(iron_store::StoreError::Backend(e.to_string()));
    let mut out = env.blobs.writer(&key, format.content_type()).await?;
    let spool = export::Spool::default();
    let mut writer = Writer::new(format, fields, spool.clone()).map_err(io)?;
    let mut pages = Source::of(job.resource, &job.export.filters).pages();
    while let Some(records) = pages.next(env.db).await? {
        for r in &records {
            writer.record(r).map_err(io)?;
        }
        writer.flush().map_err(io)?;
        out.write(&spool.take()).await?;
    }
    let rows = writer.rows() as u64;
    writer.finish().map_err(io)?;
    out.write(&spool.take()).await?;
    let bytes = out.finish().await?;
    job.rows_written = rows;
    job.bytes_written = bytes;
    job.status = JobStatus::Succeeded;
    job.finished_at = Some(env.clock.now());
    save(env, &mut job).await?;
    tracing::info!(job = %job.id, rows, bytes, "export finished");
    Ok(Step::Done)
}
