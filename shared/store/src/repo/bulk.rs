//! Bulk writes (the bulk endpoints, import jobs): many rows committed in few transactions, each
//! row all-or-nothing, a refused row never blocking the others.
//!
//! A group of rows is one transaction (at most [`MAX_TRANSACTION_OPS`] operations, the caller's
//! `tail` included: an import job's checkpoint rides in the same transaction, so a group and the
//! progress that records it commit together or not at all). When the store cancels it because
//! some rows' conditions failed (an email taken meanwhile, a location deleted), those rows are
//! refused with the reason and the transaction is retried without them.

use super::{RepoError, RepoResult, athletes, encode};
use crate::item::Item;
use crate::keys;
use crate::table::{Condition, MAX_TRANSACTION_OPS, StoreError, TxOp};
use crate::tenant::{TenantDb, TenantScope};
use iron_domain::bulk::{RowError, RowErrorCode};
use iron_domain::search::fold;
use iron_domain::{Athlete, Event, FitnessTest, Id};
use serde_json::Value;

/// One row's records.
#[derive(Debug, Clone)]
pub enum Write {
    CreateAthlete { athlete: Athlete, event: Event },
    UpdateAthlete { before: Athlete, after: Athlete },
    CreateTest { test: FitnessTest, event: Event },
}

/// A row's write and where the row is (its index in the request or file).
#[derive(Debug, Clone)]
pub struct RowWrite {
    pub index: usize,
    pub write: Write,
}

/// What each operation of a row's write asserts, to say why a cancelled one failed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    /// The record itself (absent on create; unchanged on update).
    Record,
    Email,
    ExternalId,
    Location,
    Athlete,
    SameTest,
    /// Never fails (a guard delete, the outbox).
    Nothing,
}

impl RowWrite {
    fn ops(&self, scope: &TenantScope, import: Option<&str>) -> Vec<(TxOp, Check)> {
        let mut ops = Vec::new();
        match &self.write {
            Write::CreateAthlete { athlete: a, event } => {
                // The record, then its guards (the order `create_ops_marked` writes them in).
                let checks = [Check::Record]
                    .into_iter()
                    .chain(a.email.iter().map(|_| Check::Email))
                    .chain(a.external_id.iter().map(|_| Check::ExternalId));
                ops.extend(athletes::create_ops_marked(scope, a, import).into_iter().zip(checks));
                if let Some(loc) = &a.location_id {
                    ops.push((
                        TxOp::Check { key: keys::location(scope, loc), condition: Condition::Exists },
                        Check::Location,
                    ));
                }
                ops.push((super::events::outbox_op(scope, event), Check::Nothing));
            }
            Write::UpdateAthlete { before, after } => {
                let item = athletes::athlete_item(scope, after);
                ops.push((
                    TxOp::Put {
                        item,
                        condition: Condition::AttrEquals("updatedAt".into(), encode(&before.updated_at)),
                    },
                    Check::Record,
                ));
                // Guards: moved when the value changes, rewritten (marked with this import) when not.
                let (old_email, new_email) = (before.email.as_deref().map(fold), after.email.as_deref().map(fold));
                if let Some(old) = old_email.as_ref().filter(|o| Some(*o) != new_email.as_ref()) {
                    ops.push((
                        TxOp::Delete { key: keys::athlete_email_guard(scope, old), condition: Condition::None },
                        Check::Nothing,
                    ));
                }
                if let Some(new) = &new_email {
                    let condition = if old_email.as_ref() == Some(new) {
                        Condition::AttrEquals("athleteId".into(), Value::String(after.id.to_string()))
                    } else {
                        Condition::NotExists
                    };
                    let item = athletes::guard_item(keys::athlete_email_guard(scope, new), &after.id, import);
                    ops.push((TxOp::Put { item, condition }, Check::Email));
                }
                let (old_src, new_src) = (athletes::source_name(before.source), athletes::source_name(after.source));
                if let Some(old) = before.external_id.as_ref().filter(|o| Some(*o) != after.external_id.as_ref()) {
                    let key = keys::athlete_external_guard(scope, &old_src, old);
                    ops.push((TxOp::Delete { key, condition: Condition::None }, Check::Nothing));
                }
                if let Some(new) = &after.external_id {
                    let condition = if before.external_id.as_ref() == Some(new) {
                        Condition::AttrEquals("athleteId".into(), Value::String(after.id.to_string()))
                    } else {
                        Condition::NotExists
                    };
                    let item =
                        athletes::guard_item(keys::athlete_external_guard(scope, &new_src, new), &after.id, import);
                    ops.push((TxOp::Put { item, condition }, Check::ExternalId));
                }
                if let Some(loc) = after.location_id.as_ref().filter(|l| Some(*l) != before.location_id.as_ref()) {
                    ops.push((
                        TxOp::Check { key: keys::location(scope, loc), condition: Condition::Exists },
                        Check::Location,
                    ));
                }
            }
            Write::CreateTest { test, event } => {
                let checks = [Check::Athlete, Check::Record, Check::SameTest];
                let mut test_ops = super::fitness_tests::create_ops(scope, test);
                // The natural-key guard names the import that wrote it (a later duplicate row of
                // the same file is then told apart from a test recorded before).
                if let (Some(import), Some(TxOp::Put { item, .. })) = (import, test_ops.get_mut(2)) {
                    item.insert("importId".into(), Value::String(import.to_owned()));
                }
                ops.extend(test_ops.into_iter().zip(checks));
                if let Some(loc) = &test.location_id {
                    ops.push((
                        TxOp::Check { key: keys::location(scope, loc), condition: Condition::Exists },
                        Check::Location,
                    ));
                }
                ops.push((super::events::outbox_op(scope, event), Check::Nothing));
            }
        }
        ops
    }

    /// How many operations this row takes in a transaction.
    pub fn op_count(&self, scope: &TenantScope) -> usize {
        self.ops(scope, None).len()
    }

    fn refusal(&self, check: Check) -> RowError {
        let (field, code, message) = match (check, &self.write) {
            (Check::Email, _) => ("/email", RowErrorCode::Duplicate, "another athlete of this business has this email"),
            (Check::ExternalId, _) => {
                ("/externalId", RowErrorCode::Duplicate, "another athlete of this business has this external id")
            }
            (Check::Location, _) => ("/locationId", RowErrorCode::NotFound, "no such location in this business"),
            (Check::Athlete, _) => ("/athleteId", RowErrorCode::NotFound, "no such athlete in this business"),
            (Check::SameTest, _) => {
                ("/performedAt", RowErrorCode::Duplicate, "this athlete already has a test of this type at this time")
            }
            (Check::Record, Write::UpdateAthlete { .. }) => {
                ("", RowErrorCode::Conflict, "the athlete changed while this row was written; send the row again")
            }
            (Check::Record | Check::Nothing, _) => (
                "",
                RowErrorCode::Conflict,
                "the record was written at the same time by another request; send the row again",
            ),
        };
        RowError::new(self.index, field, code, message)
    }
}

/// Splits rows into groups that each fit one transaction beside `reserve` operations of the
/// caller's own (an import's checkpoint).
pub fn groups(scope: &TenantScope, rows: Vec<RowWrite>, reserve: usize) -> Vec<Vec<RowWrite>> {
    let budget = MAX_TRANSACTION_OPS - reserve;
    let mut out: Vec<Vec<RowWrite>> = Vec::new();
    let mut used = budget;
    for row in rows {
        let n = row.op_count(scope);
        if used + n > budget {
            out.push(Vec::new());
            used = 0;
        }
        used += n;
        if let Some(group) = out.last_mut() {
            group.push(row);
        }
    }
    out
}

/// What became of a group: the rows written, and the rows refused with why.
#[derive(Debug, Default)]
pub struct GroupResult {
    pub written: Vec<RowWrite>,
    pub refused: Vec<RowError>,
}

/// Commits one group (it must fit: see [`groups`]) as one transaction with the ops `tail` gives
/// for the outcome so far. Rows whose conditions fail are refused and the rest retried; a
/// transaction conflict is retried with backoff. `Err(Conflict)` on field `tail` when the tail's
/// own condition failed (another worker moved the checkpoint): nothing was written.
pub async fn commit_group(
    db: TenantDb<'_>,
    mut rows: Vec<RowWrite>,
    import: Option<&str>,
    tail: &(dyn Fn(&GroupResult) -> Vec<TxOp> + Send + Sync),
) -> RepoResult<GroupResult> {
    let (store, scope) = (db.store(), db.scope());
    let mut refused: Vec<RowError> = Vec::new();
    let mut conflicts = 0u32;
    loop {
        // The rows' operations; a check several rows share (tests of one athlete, rows of one
        // location) is made once, as a transaction may touch an item only once, and owned by
        // each of them.
        let mut ops: Vec<TxOp> = Vec::new();
        let mut owners: Vec<Vec<(usize, Check)>> = Vec::new();
        for (r, row) in rows.iter().enumerate() {
            for (op, check) in row.ops(scope, import) {
                if let TxOp::Check { key, condition } = &op
                    && let Some(i) = ops
                        .iter()
                        .position(|o| matches!(o, TxOp::Check { key: k, condition: c } if k == key && c == condition))
                {
                    owners[i].push((r, check));
                    continue;
                }
                ops.push(op);
                owners.push(vec![(r, check)]);
            }
        }
        let result = GroupResult { written: rows.clone(), refused: refused.clone() };
        let tail_ops = tail(&result);
        let tail_start = ops.len();
        ops.extend(tail_ops);
        if ops.is_empty() {
            return Ok(result);
        }
        match store.transact(ops).await {
            Ok(()) => return Ok(result),
            Err(StoreError::TransactionCanceled { failed }) if !failed.is_empty() => {
                if failed.iter().any(|i| *i >= tail_start) {
                    return Err(RepoError::Conflict { field: "tail".into(), message: "the checkpoint moved".into() });
                }
                let mut bad: Vec<(usize, Check)> =
                    failed.iter().filter_map(|i| owners.get(*i)).flatten().copied().collect();
                bad.sort_by_key(|(r, _)| *r);
                bad.dedup_by_key(|(r, _)| *r);
                for (r, check) in bad.iter().rev() {
                    let row = rows.remove(*r);
                    refused.push(row.refusal(*check));
                }
                refused.sort_by_key(|e| e.index);
            }
            Err(StoreError::TransactionCanceled { .. } | StoreError::Throttled) if conflicts < 6 => {
                conflicts += 1;
                let jitter = u64::from(rand_jitter());
                tokio::time::sleep(std::time::Duration::from_millis((20u64 << conflicts) + jitter)).await;
            }
            Err(StoreError::TransactionCanceled { .. }) => {
                refused.extend(rows.drain(..).map(|row| row.refusal(Check::Nothing)));
                refused.sort_by_key(|e| e.index);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// 0–49 ms, from the clock's low bits: enough to spread retries; no RNG dependency.
fn rand_jitter() -> u8 {
    (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0) % 50)
        as u8
}

/// Who holds a uniqueness guard: the athlete, and the import that last wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardOwner {
    pub athlete_id: Id,
    pub import_id: Option<String>,
}

fn owner_of(item: Option<Item>) -> Option<GuardOwner> {
    let item = item?;
    let athlete_id = item.get("athleteId").and_then(Value::as_str).and_then(Id::parse)?;
    let import_id = item.get("importId").and_then(Value::as_str).map(str::to_owned);
    Some(GuardOwner { athlete_id, import_id })
}

/// The athlete whose email folds to `email` (the guard's key), if one.
pub async fn email_owner(db: TenantDb<'_>, email: &str) -> RepoResult<Option<GuardOwner>> {
    Ok(owner_of(db.store().get(&keys::athlete_email_guard(db.scope(), &fold(email))).await?))
}

/// The athlete with this external id from any source, if one (the guard the door's lookup finds).
pub async fn external_owner(db: TenantDb<'_>, external_id: &str) -> RepoResult<Option<GuardOwner>> {
    Ok(owner_of(athletes::external_guard(db, external_id).await?.map(|(guard, _)| guard)))
}
