//! Bulk import and export, shared by the bulk endpoints and the import/export jobs.
//!
//! A batch of rows goes through three steps: [`plan`] validates each row by its resource's own
//! rules and finds duplicates (earlier in the batch, or stored); [`commit`] writes the planned
//! rows in as few transactions as the store allows (`iron_store::repo::bulk`); the outcome
//! counts what was created, updated, left unchanged and refused, row by row.

pub mod export;
pub mod file;
pub mod job;
pub mod plan;
pub mod sheet;

pub use plan::{Batch, BatchKeys, Options, Plan, RowKind, plan};

use iron_domain::bulk::RowError;
use iron_store::TenantDb;
use iron_store::repo::RepoResult;
use iron_store::repo::bulk::{self, RowWrite, Write};
use serde::Serialize;

/// What became of one row that was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowResult {
    pub index: usize,
    /// The id of the record created or updated.
    pub id: String,
    pub outcome: RowOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    Created,
    Updated,
    /// The row matched a stored record exactly: nothing to write.
    Unchanged,
}

/// A batch's outcome, rows in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub rows: Vec<RowResult>,
    pub errors: Vec<RowError>,
}

impl Report {
    pub fn count(&self, outcome: RowOutcome) -> usize {
        self.rows.iter().filter(|r| r.outcome == outcome).count()
    }

    /// How many rows were refused (a row may have several errors).
    pub fn refused(&self) -> usize {
        let mut rows: Vec<usize> = self.errors.iter().map(|e| e.index).collect();
        rows.dedup();
        rows.len()
    }

    fn sort(&mut self) {
        self.rows.sort_by_key(|r| r.index);
        self.errors.sort_by_key(|e| e.index);
    }
}

pub(crate) fn result_of(row: &RowWrite) -> RowResult {
    let (id, outcome) = match &row.write {
        Write::CreateAthlete { athlete, .. } => (athlete.id.to_string(), RowOutcome::Created),
        Write::UpdateAthlete { after, .. } => (after.id.to_string(), RowOutcome::Updated),
        Write::CreateTest { test, .. } => (test.id.to_string(), RowOutcome::Created),
    };
    RowResult { index: row.index, id, outcome }
}

/// Writes a plan (no checkpoint: the bulk endpoints), group by group.
pub async fn commit(db: TenantDb<'_>, plan: Plan) -> RepoResult<Report> {
    let mut report = Report { rows: plan.unchanged, errors: plan.refused };
    for group in bulk::groups(db.scope(), plan.writes, 0) {
        let done = bulk::commit_group(db, group, None, &|_| Vec::new()).await?;
        report.rows.extend(done.written.iter().map(result_of));
        report.errors.extend(done.refused);
    }
    report.sort();
    Ok(report)
}

/// What a plan would do, without writing (`dryRun`): every planned write counted as done.
pub fn preview(plan: Plan) -> Report {
    let mut report = Report { rows: plan.unchanged, errors: plan.refused };
    report.rows.extend(plan.writes.iter().map(result_of));
    report.sort();
    report
}
