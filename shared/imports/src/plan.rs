//! Planning a batch: each row validated by its resource's own rules, then matched against the
//! rows before it and the stored records.
//!
//! Athletes are matched by email (trimmed, case-, accent- and Unicode-form-insensitive: the key
//! the single endpoints guard) and by external id (trimmed, exact), against every source. A
//! match earlier in the batch refuses the row (`duplicate_in_batch`); a stored match updates that
//! athlete when `updateExisting` is on (only the fields the row carries change) and refuses it
//! (`duplicate`) otherwise. An email and an external id that match two different athletes refuse
//! the row. Tests are matched by (athlete, type, performed time), and are never updated.

use crate::RowResult;
use chrono::{DateTime, Utc};
use iron_domain::bulk::{RowError, RowErrorCode, email_key, external_key};
use iron_domain::fitness_test::{AthleteRef, validate_new};
use iron_domain::{Athlete, AthleteSource, Event, Id, IdKind, athlete};
use iron_store::TenantDb;
use iron_store::repo::bulk::{self, GuardOwner, RowWrite, Write};
use iron_store::repo::{RepoError, RepoResult, athletes, fitness_tests};
use serde_json::{Map, Value};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Athletes,
    Tests,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// A row that matches a stored athlete updates it (else the row is refused as a duplicate).
    pub update_existing: bool,
}

/// The unique keys seen so far in a batch (a request, or a whole file across its chunks: the
/// guards an import writes carry its id, so later chunks see the earlier ones in the store).
#[derive(Debug, Clone, Default)]
pub struct BatchKeys {
    keys: HashMap<String, usize>,
}

impl BatchKeys {
    /// The row that already has `key`, or records it for `index`.
    fn claim(&mut self, key: String, index: usize) -> Option<usize> {
        match self.keys.get(&key) {
            Some(first) => Some(*first),
            None => {
                self.keys.insert(key, index);
                None
            }
        }
    }
}

/// A planned batch: the writes to make, the rows refused, the rows that need nothing.
#[derive(Debug, Default)]
pub struct Plan {
    pub writes: Vec<RowWrite>,
    pub refused: Vec<RowError>,
    pub unchanged: Vec<RowResult>,
}

/// The context every row of a batch shares.
pub struct Batch<'a> {
    pub db: TenantDb<'a>,
    pub now: DateTime<Utc>,
    pub options: Options,
    /// The import job the batch belongs to (`None` for a bulk request).
    pub import: Option<&'a str>,
    pub keys: &'a mut BatchKeys,
    /// The time new records' ids start from: a new athlete's or test's id is this time, then
    /// its row number, so ids (and an export by id) keep the order of the rows. An import job
    /// uses its creation time for every chunk.
    pub ids_from: DateTime<Utc>,
}

/// The id of the record made from row `index`: sorts after every earlier row's of the batch.
fn row_id(kind: IdKind, batch: &Batch<'_>, index: usize) -> Id {
    let mut random: [u8; 10] = rand::random();
    random[..4].copy_from_slice(&(index as u32).to_be_bytes());
    Id::from_parts(kind, batch.ids_from.timestamp_millis(), random)
}

/// Claims the unique keys of a row done in an earlier run of the same import (its outcome is
/// stored; only the batch's memory of it was lost), so a later duplicate is told the same as in
/// one run.
pub fn remember(batch: &mut Batch<'_>, kind: RowKind, index: usize, body: &Map<String, Value>) {
    if kind != RowKind::Athletes {
        return;
    }
    let now = now_ms(batch.now);
    let mut probe = Athlete::new_member(AthleteSource::Import, now);
    if !athlete::apply_fields(body, &mut probe, false, now.date_naive()).is_empty() {
        return;
    }
    // As planning claims them: in order, stopping at the first key an earlier row has.
    let keys = [
        probe.email.as_deref().map(|e| format!("email\u{0}{}", email_key(e))),
        probe.external_id.as_deref().map(|e| format!("ext\u{0}{}", external_key(e))),
    ];
    for key in keys.into_iter().flatten() {
        if batch.keys.claim(key, index).is_some() {
            return;
        }
    }
}

fn now_ms(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// Plans `rows` (each with its index in the batch).
pub async fn plan(batch: &mut Batch<'_>, kind: RowKind, rows: Vec<(usize, Map<String, Value>)>) -> RepoResult<Plan> {
    let mut plan = Plan::default();
    let mut athletes_by_id: HashMap<Id, bool> = HashMap::new();
    for (index, body) in rows {
        let planned = match kind {
            RowKind::Athletes => plan_athlete(batch, index, &body).await?,
            RowKind::Tests => plan_test(batch, index, &body, &mut athletes_by_id).await?,
        };
        match planned {
            Planned::Write(w) => plan.writes.push(*w),
            Planned::Refused(e) => plan.refused.extend(e),
            Planned::Unchanged(r) => plan.unchanged.push(r),
        }
    }
    Ok(plan)
}

enum Planned {
    Write(Box<RowWrite>),
    Refused(Vec<RowError>),
    Unchanged(RowResult),
}

fn refuse(index: usize, field: &str, code: RowErrorCode, message: impl Into<String>) -> Planned {
    Planned::Refused(vec![RowError::new(index, field, code, message)])
}

/// The stored athlete a guard owner names, told apart from one this same import wrote.
enum Match {
    None,
    EarlierInImport,
    Stored(Id),
}

fn classify(owner: Option<GuardOwner>, import: Option<&str>) -> Match {
    match owner {
        None => Match::None,
        Some(o) if import.is_some() && o.import_id.as_deref() == import => Match::EarlierInImport,
        Some(o) => Match::Stored(o.athlete_id),
    }
}

async fn plan_athlete(batch: &mut Batch<'_>, index: usize, body: &Map<String, Value>) -> RepoResult<Planned> {
    let now = now_ms(batch.now);
    let today = now.date_naive();
    // First the fields on their own (a blank member): what the row says, and what's wrong with it.
    let mut probe = Athlete::new_member(AthleteSource::Import, now);
    let mut errors = athlete::apply_fields(body, &mut probe, false, today);
    if !errors.is_empty() {
        if !batch.options.update_existing {
            // It can only be a new member: say what else a new one lacks, all at once.
            errors = athlete::apply_fields(body, &mut Athlete::new_member(AthleteSource::Import, now), true, today);
        }
        return Ok(Planned::Refused(RowError::from_fields(index, errors)));
    }
    let email = probe.email.as_deref().map(email_key);
    let external = probe.external_id.as_deref().map(external_key);
    // Earlier in this batch?
    for (key, field, what) in [
        (email.as_ref().map(|e| format!("email\u{0}{e}")), "/email", "email"),
        (external.as_ref().map(|e| format!("ext\u{0}{e}")), "/externalId", "external id"),
    ] {
        if let Some(key) = key
            && let Some(first) = batch.keys.claim(key, index)
        {
            let message = format!("row {first} of this batch has the same {what}");
            return Ok(refuse(index, field, RowErrorCode::DuplicateInBatch, message));
        }
    }
    // Stored?
    let by_email = match &email {
        Some(e) => classify(bulk::email_owner(batch.db, e).await?, batch.import),
        None => Match::None,
    };
    let by_ext = match &external {
        Some(e) => classify(bulk::external_owner(batch.db, e).await?, batch.import),
        None => Match::None,
    };
    let existing = match (by_email, by_ext) {
        (Match::EarlierInImport, _) => {
            return Ok(refuse(
                index,
                "/email",
                RowErrorCode::DuplicateInBatch,
                "an earlier row of this file has the same email",
            ));
        }
        (_, Match::EarlierInImport) => {
            let message = "an earlier row of this file has the same external id";
            return Ok(refuse(index, "/externalId", RowErrorCode::DuplicateInBatch, message));
        }
        (Match::Stored(a), Match::Stored(b)) if a != b => {
            let message = format!("the email belongs to athlete {a} and the external id to athlete {b}");
            return Ok(refuse(index, "/externalId", RowErrorCode::Duplicate, message));
        }
        (Match::Stored(a), _) => Some((a, "/email", "email")),
        (Match::None, Match::Stored(b)) => Some((b, "/externalId", "external id")),
        (Match::None, Match::None) => None,
    };
    match existing {
        Some((id, field, what)) if !batch.options.update_existing => {
            let message = format!("athlete {id} has this {what} (set `updateExisting` to update it)");
            Ok(refuse(index, field, RowErrorCode::Duplicate, message))
        }
        Some((id, _, _)) => {
            let before = match athletes::get(batch.db, &id).await {
                Ok(a) => a,
                Err(RepoError::NotFound) => {
                    return Ok(refuse(
                        index,
                        "",
                        RowErrorCode::Conflict,
                        "the matching athlete was just deleted; send the row again",
                    ));
                }
                Err(e) => return Err(e),
            };
            let mut after = before.clone();
            let errors = athlete::apply_fields(body, &mut after, false, today);
            if !errors.is_empty() {
                return Ok(Planned::Refused(RowError::from_fields(index, errors)));
            }
            if after == before {
                return Ok(Planned::Unchanged(RowResult {
                    index,
                    id: before.id.to_string(),
                    outcome: crate::RowOutcome::Unchanged,
                }));
            }
            // One write per athlete in a batch: a second row matching it (by its other key) is
            // a duplicate of the first, not a second update in the same transaction.
            if let Some(first) = batch.keys.claim(format!("athlete\u{0}{}", before.id), index) {
                let message = format!("row {first} of this batch updates the same athlete ({})", before.id);
                return Ok(refuse(index, "", RowErrorCode::DuplicateInBatch, message));
            }
            after.updated_at = now.max(before.updated_at + chrono::Duration::milliseconds(1));
            Ok(Planned::Write(Box::new(RowWrite { index, write: Write::UpdateAthlete { before, after } })))
        }
        None => {
            let mut a = Athlete::new_member(AthleteSource::Import, now);
            a.id = row_id(IdKind::Athlete, batch, index);
            let errors = athlete::apply_fields(body, &mut a, true, today);
            if !errors.is_empty() {
                return Ok(Planned::Refused(RowError::from_fields(index, errors)));
            }
            let data = serde_json::to_value(&a).unwrap_or_default();
            let event = Event::new("member.created", batch.db.business_id(), a.created_at, data);
            Ok(Planned::Write(Box::new(RowWrite { index, write: Write::CreateAthlete { athlete: a, event } })))
        }
    }
}

async fn plan_test(
    batch: &mut Batch<'_>,
    index: usize,
    body: &Map<String, Value>,
    known: &mut HashMap<Id, bool>,
) -> RepoResult<Planned> {
    let now = now_ms(batch.now);
    let input = match validate_new(body, now, true) {
        Ok(i) => i,
        Err(errors) => return Ok(Planned::Refused(RowError::from_fields(index, errors))),
    };
    let athlete_id = match &input.athlete {
        AthleteRef::Id(id) => {
            let exists = match known.get(id) {
                Some(e) => *e,
                None => {
                    let e = match athletes::get(batch.db, id).await {
                        Ok(_) => true,
                        Err(RepoError::NotFound) => false,
                        Err(e) => return Err(e),
                    };
                    known.insert(id.clone(), e);
                    e
                }
            };
            if !exists {
                return Ok(refuse(
                    index,
                    "/athleteId",
                    RowErrorCode::NotFound,
                    format!("no athlete `{id}` in this business"),
                ));
            }
            id.clone()
        }
        AthleteRef::External(ext) => match bulk::external_owner(batch.db, &external_key(ext)).await? {
            Some(owner) => owner.athlete_id,
            None => {
                let message = format!("no athlete of this business has external id `{ext}`");
                return Ok(refuse(index, "/athleteExternalId", RowErrorCode::NotFound, message));
            }
        },
    };
    let test = input.into_test(row_id(IdKind::Test, batch, index), athlete_id, now);
    let natural = format!(
        "test\u{0}{}\u{0}{}\u{0}{}",
        test.athlete_id,
        test.test_type.as_str(),
        test.performed_at.timestamp_millis()
    );
    if let Some(first) = batch.keys.claim(natural, index) {
        let message = format!("row {first} of this batch is the same test (athlete, type and time)");
        return Ok(refuse(index, "/performedAt", RowErrorCode::DuplicateInBatch, message));
    }
    match fitness_tests::guard_import(batch.db, &test).await? {
        None => {}
        Some(Some(import)) if batch.import == Some(import.as_str()) => {
            let message = "an earlier row of this file is the same test (athlete, type and time)";
            return Ok(refuse(index, "/performedAt", RowErrorCode::DuplicateInBatch, message));
        }
        Some(_) => {
            let message = "this athlete already has a test of this type at this time";
            return Ok(refuse(index, "/performedAt", RowErrorCode::Duplicate, message));
        }
    }
    let data = serde_json::to_value(&test).unwrap_or_default();
    let event = Event::new("test.completed", batch.db.business_id(), now, data);
    Ok(Planned::Write(Box::new(RowWrite { index, write: Write::CreateTest { test, event } })))
}
