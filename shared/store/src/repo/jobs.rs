//! Import and export jobs, in the business's job partition (newest first by id), and the rows an
//! import refused, one item per checkpoint. Every write of a job is conditioned on its
//! `version`, so a worker's checkpoint and a cancel (or two workers given the same job) never
//! both win. Ended jobs expire after [`KEEP_DAYS`] (TTL), their files by the bucket's lifecycle.

use super::{RepoError, RepoResult, decode_json, decode_page, encode};
use crate::item::{Cursor, Index, Query, TTL};
use crate::keys;
use crate::table::{Condition, StoreError, TxOp};
use crate::tenant::TenantDb;
use iron_domain::Id;
use iron_domain::bulk::RowError;
use iron_domain::job::{Job, KEEP_DAYS};
use serde_json::Value;

/// The errors of one row an error report keeps.
pub const ERRORS_PER_ROW: usize = 5;

fn item(db: TenantDb<'_>, job: &Job) -> crate::Item {
    let mut item = keys::item_of("job", encode(job), keys::job(db.scope(), &job.id));
    if let Some(end) = job.finished_at {
        item.insert(TTL.into(), Value::from((end + chrono::Duration::days(KEEP_DAYS)).timestamp()));
    }
    item
}

pub async fn create(db: TenantDb<'_>, job: &Job) -> RepoResult<()> {
    db.store().put(item(db, job), Condition::NotExists).await.map_err(|e| match e {
        StoreError::ConditionFailed => RepoError::Conflict { field: "id".into(), message: "the job exists".into() },
        other => other.into(),
    })
}

pub async fn get(db: TenantDb<'_>, id: &Id) -> RepoResult<Job> {
    let json = db.store().get_json(&keys::job(db.scope(), id)).await?.ok_or(RepoError::NotFound)?;
    decode_json(&json)
}

/// The write that replaces `before` with `after` (its version one more), only if no one else
/// wrote the job meanwhile: for a transaction's tail.
pub fn save_op(db: TenantDb<'_>, before_version: u64, after: &Job) -> TxOp {
    TxOp::Put { item: item(db, after), condition: Condition::AttrEquals("version".into(), Value::from(before_version)) }
}

/// Saves `job` over the version it was read at, bumping it. `Conflict` when it moved meanwhile.
pub async fn save(db: TenantDb<'_>, job: &mut Job) -> RepoResult<()> {
    let before = job.version;
    job.version += 1;
    let TxOp::Put { item, condition } = save_op(db, before, job) else { unreachable!("save_op is a put") };
    db.store().put(item, condition).await.map_err(|e| match e {
        StoreError::ConditionFailed => {
            job.version = before;
            RepoError::Conflict { field: "version".into(), message: "the job changed meanwhile".into() }
        }
        other => other.into(),
    })
}

/// The write that keeps the rows a checkpoint refused (those before `up_to`).
pub fn errors_op(db: TenantDb<'_>, job: &Job, up_to: u64, errors: &[RowError]) -> TxOp {
    // At most [`ERRORS_PER_ROW`] per row, so a chunk's item stays far below DynamoDB's 400 KB
    // (200 rows × 5 × ~250 bytes); the row's count and first errors are whole.
    let mut kept: Vec<RowError> = Vec::with_capacity(errors.len());
    for e in errors {
        if kept.iter().rev().take_while(|k| k.index == e.index).count() < ERRORS_PER_ROW {
            kept.push(e.clone());
        }
    }
    let errors = &kept[..];
    let mut item = keys::item_of(
        "jobErrors",
        serde_json::json!({ "errors": errors }),
        keys::job_errors(db.scope(), &job.id, up_to as usize),
    );
    item.insert(TTL.into(), Value::from((job.created_at + chrono::Duration::days(KEEP_DAYS + 2)).timestamp()));
    TxOp::Put { item, condition: Condition::None }
}

/// One page of a job's refused rows, in row order.
pub async fn errors(db: TenantDb<'_>, job: &Id, cursor: Option<Cursor>) -> RepoResult<(Vec<RowError>, Option<Cursor>)> {
    #[derive(serde::Deserialize)]
    struct Chunk {
        errors: Vec<RowError>,
    }
    let query = Query::new(Index::Table, keys::job_errors_partition(db.scope(), job)).limit(50).after(cursor);
    let (chunks, next): (Vec<Chunk>, _) = decode_page(db.store().query_json(query).await?)?;
    Ok((chunks.into_iter().flat_map(|c| c.errors).collect(), next))
}

/// Jobs of one kind (by id prefix), newest first.
pub async fn list(
    db: TenantDb<'_>,
    kind: iron_domain::IdKind,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<Job>, Option<Cursor>)> {
    let query = Query::new(Index::Table, keys::jobs_partition(db.scope()))
        .sk(crate::item::SkCondition::BeginsWith(format!("{}_", kind.prefix())))
        .backward()
        .limit(limit)
        .after(cursor);
    decode_page(db.store().query_json(query).await?)
}

pub fn cursor_fits(cursor: &Cursor) -> bool {
    cursor.fits(Index::Table)
}
