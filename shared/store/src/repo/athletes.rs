//! Athletes (members). Email and (source, external id) are unique per business, enforced with
//! guard items written in the same transaction as the athlete.

use super::{RepoError, RepoResult, decode_json, encode};
use crate::item::{Cursor, Filter, Index, Item, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, JsonPage, StoreError, TxOp};
use crate::tenant::{TenantDb, TenantScope};
use chrono::{DateTime, Utc};
use iron_domain::search::fold;
use iron_domain::{Athlete, AthleteSource, Event, Id};
use serde_json::Value;

pub(super) fn athlete_item(scope: &TenantScope, a: &Athlete) -> Item {
    let mut item = keys::item_of("athlete", encode(a), keys::athlete(scope, &a.id));
    item.insert("searchText".into(), Value::String(a.search_text()));
    item = keys::with_gsi1(item, keys::athlete_by_updated(scope, a.updated_at, &a.id));
    if let Some(loc) = &a.location_id {
        item = keys::with_gsi2(item, keys::athlete_by_location(scope, loc, &a.id));
    }
    item
}

/// A uniqueness guard naming its athlete, and the bulk import that wrote it if one (so a later
/// chunk of the same file can tell "earlier in this file" from "already stored").
pub(super) fn guard_item(key: crate::Key, athlete_id: &Id, import: Option<&str>) -> Item {
    let mut body = serde_json::json!({ "athleteId": athlete_id });
    if let Some(import) = import {
        body["importId"] = Value::String(import.to_owned());
    }
    keys::item_of("guard", body, key)
}

/// The wire name of a source, as the external-id guards are keyed.
pub(super) fn source_name(source: AthleteSource) -> String {
    encode(&source).as_str().unwrap_or("api").to_owned()
}

/// The writes that create an athlete: the record and its uniqueness guards.
pub fn create_ops(scope: &TenantScope, a: &Athlete) -> Vec<TxOp> {
    create_ops_marked(scope, a, None)
}

/// [`create_ops`] with the guards marked by the bulk import writing them: the record, then the
/// email guard (if an email), then the external-id guard (if an external id), in that order.
pub(super) fn create_ops_marked(scope: &TenantScope, a: &Athlete, import: Option<&str>) -> Vec<TxOp> {
    let mut ops = vec![TxOp::Put { item: athlete_item(scope, a), condition: Condition::NotExists }];
    if let Some(email) = &a.email {
        ops.push(TxOp::Put {
            item: guard_item(keys::athlete_email_guard(scope, &fold(email)), &a.id, import),
            condition: Condition::NotExists,
        });
    }
    if let Some(ext) = &a.external_id {
        ops.push(TxOp::Put {
            item: guard_item(keys::athlete_external_guard(scope, &source_name(a.source), ext), &a.id, import),
            condition: Condition::NotExists,
        });
    }
    ops
}

/// Creates the athlete, with its events in the same transaction (the outbox). A `Conflict`
/// names `email` or `externalId` when taken, or `locationId` when that location doesn't exist.
pub async fn create(db: TenantDb<'_>, a: &Athlete, events: &[Event]) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let mut ops = create_ops(scope, a);
    let mut fields: Vec<&str> = vec!["id"];
    if a.email.is_some() {
        fields.push("email");
    }
    if a.external_id.is_some() {
        fields.push("externalId");
    }
    if let Some(loc) = &a.location_id {
        ops.push(TxOp::Check { key: keys::location(scope, loc), condition: Condition::Exists });
        fields.push("locationId");
    }
    ops.extend(events.iter().map(|e| super::events::outbox_op(scope, e)));
    store.transact(ops).await.map_err(|e| conflict(e, &fields))
}

fn conflict(e: StoreError, fields: &[&str]) -> RepoError {
    match e {
        StoreError::TransactionCanceled { failed } if !failed.is_empty() => {
            let field = fields.get(failed[0]).copied().unwrap_or("id");
            let message = if field == "locationId" {
                "no such location in this business".to_owned()
            } else {
                format!("another athlete of this business has this {field}")
            };
            RepoError::Conflict { field: field.into(), message }
        }
        other => other.into(),
    }
}

/// Replaces `before` with `after` if nobody changed it meanwhile (optimistic concurrency on
/// `updatedAt`), moving the uniqueness guards when email or external id change.
pub async fn update(db: TenantDb<'_>, before: &Athlete, after: &Athlete) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let mut ops = vec![TxOp::Put {
        item: athlete_item(scope, after),
        condition: Condition::AttrEquals("updatedAt".into(), encode(&before.updated_at)),
    }];
    let mut fields: Vec<&str> = vec!["updatedAt"];
    let (old_email, new_email) = (before.email.as_deref().map(fold), after.email.as_deref().map(fold));
    if old_email != new_email {
        if let Some(old) = &old_email {
            ops.push(TxOp::Delete { key: keys::athlete_email_guard(scope, old), condition: Condition::None });
            fields.push("email");
        }
        if let Some(new) = &new_email {
            ops.push(TxOp::Put {
                item: guard_item(keys::athlete_email_guard(scope, new), &after.id, None),
                condition: Condition::NotExists,
            });
            fields.push("email");
        }
    }
    let source = source_name(after.source);
    if before.external_id != after.external_id {
        if let Some(old) = &before.external_id {
            ops.push(TxOp::Delete {
                key: keys::athlete_external_guard(scope, &source, old),
                condition: Condition::None,
            });
            fields.push("externalId");
        }
        if let Some(new) = &after.external_id {
            ops.push(TxOp::Put {
                item: guard_item(keys::athlete_external_guard(scope, &source, new), &after.id, None),
                condition: Condition::NotExists,
            });
            fields.push("externalId");
        }
    }
    if after.location_id != before.location_id
        && let Some(loc) = &after.location_id
    {
        ops.push(TxOp::Check { key: keys::location(scope, loc), condition: Condition::Exists });
        fields.push("locationId");
    }
    store.transact(ops).await.map_err(|e| conflict(e, &fields))
}

pub async fn get(db: TenantDb<'_>, id: &Id) -> RepoResult<Athlete> {
    let (store, scope) = (db.store(), db.scope());
    let json = store.get_json(&keys::athlete(scope, id)).await?.ok_or(RepoError::NotFound)?;
    decode_json(&json)
}

/// The first external-id guard for `external_id` across the sources (api, import, wodify,
/// manual, demo, in that order) that names an athlete: the guard and that athlete's id.
pub(super) async fn external_guard(db: TenantDb<'_>, external_id: &str) -> RepoResult<Option<(Item, Id)>> {
    let (store, scope) = (db.store(), db.scope());
    let sources =
        [AthleteSource::Api, AthleteSource::Import, AthleteSource::Wodify, AthleteSource::Manual, AthleteSource::Demo];
    for source in sources {
        if let Some(guard) = store.get(&keys::athlete_external_guard(scope, &source_name(source), external_id)).await? {
            let Some(id) = guard.get("athleteId").and_then(|v| v.as_str()).and_then(Id::parse) else { continue };
            return Ok(Some((guard, id)));
        }
    }
    Ok(None)
}

/// The athlete the business knows by `external_id` (from any source), if one.
pub async fn find_by_external_id(db: TenantDb<'_>, external_id: &str) -> RepoResult<Option<Athlete>> {
    let Some((_, id)) = external_guard(db, external_id).await? else { return Ok(None) };
    match get(db, &id).await {
        Ok(a) => Ok(Some(a)),
        Err(RepoError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, Default)]
pub struct AthleteFilter {
    /// Case- and accent-insensitive substring of name or email.
    pub q: Option<String>,
    pub location_id: Option<Id>,
    pub updated_since: Option<DateTime<Utc>>,
}

pub struct AthletePage {
    pub athletes: Vec<Athlete>,
    pub next: Option<Cursor>,
}

/// Lists athletes in a stable order: by id (creation order), or by last update when
/// `updated_since` is given (the incremental-sync pattern).
pub async fn list(
    db: TenantDb<'_>,
    filter: &AthleteFilter,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<AthletePage> {
    let (store, scope) = (db.store(), db.scope());
    let mut query = match (&filter.updated_since, &filter.location_id) {
        (Some(since), loc) => {
            let q = Query::new(Index::Gsi1, keys::athletes_by_updated_partition(scope))
                .sk(SkCondition::Ge(keys::ts(*since)));
            match loc {
                Some(loc) => q.filter(Filter::Equals("locationId".into(), Value::String(loc.to_string()))),
                None => q,
            }
        }
        (None, Some(loc)) => Query::new(Index::Gsi2, keys::athletes_by_location_partition(scope, loc)),
        (None, None) => Query::new(Index::Table, keys::athletes_partition(scope)),
    };
    if let Some(q) = filter.q.as_deref().map(fold).filter(|q| !q.is_empty()) {
        query = query.filter(Filter::Contains("searchText".into(), q));
    }
    let JsonPage { items, next } = store.query_json(query.limit(limit).after(cursor)).await?;
    Ok(AthletePage { athletes: items.iter().map(|j| decode_json(j)).collect::<RepoResult<_>>()?, next })
}

/// Whether a cursor fits the query these filters produce (else the client mixed up cursors).
pub fn cursor_fits(filter: &AthleteFilter, cursor: &Cursor) -> bool {
    let index = match (&filter.updated_since, &filter.location_id) {
        (Some(_), _) => Index::Gsi1,
        (None, Some(_)) => Index::Gsi2,
        (None, None) => Index::Table,
    };
    cursor.fits(index)
}
