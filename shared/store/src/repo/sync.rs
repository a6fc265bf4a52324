//! Gyms and third-party sync: connections (with their envelope-encrypted key), runs, the raw
//! landing zone, canonical rows and the monthly metrics cache (docs/DATA_MODEL.md, "Sync").
//!
//! Raw records and canonical rows are written only when they changed: a record landed again as
//! it was keeps its first ingest time and run, and a canonical row keeps the run that last
//! changed it — so pulling the same window twice leaves the tables as they were.

use super::{RepoError, RepoResult, decode_json, decode_page, encode};
use crate::cipher::Envelope;
use crate::item::{Cursor, GSI1PK, GSI1SK, Index, Item, Key, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, StoreError, TxOp};
use crate::tenant::TenantDb;
use chrono::{DateTime, Utc};
use iron_domain::Id;
use iron_domain::sync::{Connection, ConnectionStatus, Gym, MonthlyMetrics, Provider, Run};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Items a transaction of landed records holds (DynamoDB allows 100 actions and 4 MB).
const WRITE_CHUNK: usize = 50;
/// Items read a page when a whole partition is read.
const READ_PAGE: usize = 1000;

fn gsi(item: &mut Item, key: Key) {
    item.insert(GSI1PK.into(), Value::String(key.pk));
    item.insert(GSI1SK.into(), Value::String(key.sk));
}

fn conflict(field: &str, message: &str) -> impl FnOnce(StoreError) -> RepoError {
    let (field, message) = (field.to_string(), message.to_string());
    move |e| match e {
        StoreError::ConditionFailed | StoreError::TransactionCanceled { .. } => RepoError::Conflict { field, message },
        other => other.into(),
    }
}

// ---- gyms ----

pub async fn create_gym(db: TenantDb<'_>, gym: &Gym) -> RepoResult<()> {
    let item = keys::item_of("gym", encode(gym), keys::gym(db.scope(), &gym.id));
    db.store().put(item, Condition::NotExists).await.map_err(conflict("id", "the gym exists"))
}

pub async fn save_gym(db: TenantDb<'_>, gym: &Gym) -> RepoResult<()> {
    let item = keys::item_of("gym", encode(gym), keys::gym(db.scope(), &gym.id));
    db.store().put(item, Condition::Exists).await.map_err(|e| match e {
        StoreError::ConditionFailed => RepoError::NotFound,
        other => other.into(),
    })
}

pub async fn get_gym(db: TenantDb<'_>, id: &Id) -> RepoResult<Gym> {
    let json = db.store().get_json(&keys::gym(db.scope(), id)).await?.ok_or(RepoError::NotFound)?;
    decode_json(&json)
}

pub async fn list_gyms(
    db: TenantDb<'_>,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<Gym>, Option<Cursor>)> {
    let query = Query::new(Index::Table, keys::business_partition(db.scope()))
        .sk(SkCondition::BeginsWith(keys::GYM_SK_PREFIX.into()))
        .limit(limit)
        .after(cursor);
    decode_page(db.store().query_json(query).await?)
}

// ---- connections ----

/// A connection as stored: the connection and its key's envelope, which only the sync worker
/// decrypts. The envelope is not serialised into anything but the item.
#[derive(Debug, Clone)]
pub struct StoredConnection {
    pub connection: Connection,
    envelope: Option<Envelope>,
}

impl StoredConnection {
    pub fn new(connection: Connection) -> StoredConnection {
        StoredConnection { connection, envelope: None }
    }
    pub fn envelope(&self) -> Option<&Envelope> {
        self.envelope.as_ref()
    }
    pub fn set_envelope(&mut self, envelope: Envelope) {
        self.envelope = Some(envelope);
    }
    pub fn clear_envelope(&mut self) {
        self.envelope = None;
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionItem {
    #[serde(flatten)]
    connection: Connection,
    key_envelope: Option<Envelope>,
}

pub async fn get_connection(db: TenantDb<'_>, provider: Provider, gym: &Id) -> RepoResult<Option<StoredConnection>> {
    let Some(json) = db.store().get_json(&keys::connection(db.scope(), provider.as_str(), gym)).await? else {
        return Ok(None);
    };
    let item: ConnectionItem = decode_json(&json)?;
    Ok(Some(StoredConnection { connection: item.connection, envelope: item.key_envelope }))
}

/// Saves a connection over the version it was read at (0: a new one), bumping it. `Conflict`
/// when another writer got there first.
pub async fn save_connection(db: TenantDb<'_>, stored: &mut StoredConnection) -> RepoResult<()> {
    let c = &mut stored.connection;
    let before = c.version;
    c.version += 1;
    let provider = c.provider.as_str();
    let mut item = keys::item_of("connection", encode(&*c), keys::connection(db.scope(), provider, &c.gym_id));
    if let Some(env) = &stored.envelope {
        item.insert("keyEnvelope".into(), encode(env));
    }
    // Listed for the scheduled fan-out while it may run.
    if matches!(c.status, ConnectionStatus::Connected | ConnectionStatus::Error) {
        gsi(&mut item, keys::connection_listing(provider, db.business_id(), &c.gym_id));
    }
    let condition =
        if before == 0 { Condition::NotExists } else { Condition::AttrEquals("version".into(), Value::from(before)) };
    db.store().put(item, condition).await.map_err(|e| {
        stored.connection.version = before;
        conflict("version", "the connection changed meanwhile")(e)
    })
}

/// A connection the fan-out found: its business and gym.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRef {
    pub business_id: Id,
    pub gym_id: Id,
}

/// Every connected (or failed, to be retried) gym of `provider`, across businesses: the
/// scheduled fan-out's listing. A platform read, so only operator code has it.
#[cfg(feature = "operator")]
pub async fn connections_of_provider(
    store: &dyn crate::TableStore,
    provider: Provider,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<ConnectionRef>, Option<Cursor>)> {
    let page = store
        .query(Query::new(Index::Gsi1, keys::connections_partition(provider.as_str())).limit(READ_PAGE).after(cursor))
        .await?;
    let refs = page
        .items
        .iter()
        .filter_map(|item| {
            let (biz, gym) = item.get(GSI1SK)?.as_str()?.split_once('#')?;
            Some(ConnectionRef { business_id: Id::parse(biz)?, gym_id: Id::parse(gym)? })
        })
        .collect();
    Ok((refs, page.next))
}

// ---- runs ----

fn run_item(db: TenantDb<'_>, run: &Run) -> Item {
    keys::item_of("syncRun", encode(run), keys::sync_run(db.scope(), &run.gym_id, &run.id))
}

pub async fn create_run(db: TenantDb<'_>, run: &Run) -> RepoResult<()> {
    db.store().put(run_item(db, run), Condition::NotExists).await.map_err(conflict("id", "the run exists"))
}

pub async fn get_run(db: TenantDb<'_>, gym: &Id, id: &Id) -> RepoResult<Run> {
    let json = db.store().get_json(&keys::sync_run(db.scope(), gym, id)).await?.ok_or(RepoError::NotFound)?;
    decode_json(&json)
}

/// Saves a run over the version it was read at, bumping it (two invocations of one run never
/// both checkpoint).
pub async fn save_run(db: TenantDb<'_>, run: &mut Run) -> RepoResult<()> {
    let before = run.version;
    run.version += 1;
    let condition = Condition::AttrEquals("version".into(), Value::from(before));
    db.store().put(run_item(db, run), condition).await.map_err(|e| {
        run.version = before;
        conflict("version", "the run changed meanwhile")(e)
    })
}

/// [`save_run`] with events recorded in the same transaction (the outbox).
pub async fn save_run_with_events(db: TenantDb<'_>, run: &mut Run, events: &[iron_domain::Event]) -> RepoResult<()> {
    if events.is_empty() {
        return save_run(db, run).await;
    }
    let before = run.version;
    run.version += 1;
    let mut ops = vec![TxOp::Put {
        item: run_item(db, run),
        condition: Condition::AttrEquals("version".into(), Value::from(before)),
    }];
    ops.extend(events.iter().map(|e| super::events::outbox_op(db.scope(), e)));
    db.store().transact(ops).await.map_err(|e| {
        run.version = before;
        conflict("version", "the run changed meanwhile")(e)
    })
}

/// A gym's runs, newest first.
pub async fn list_runs(
    db: TenantDb<'_>,
    gym: &Id,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<Run>, Option<Cursor>)> {
    let query =
        Query::new(Index::Table, keys::sync_runs_partition(db.scope(), gym)).backward().limit(limit).after(cursor);
    decode_page(db.store().query_json(query).await?)
}

// ---- the raw landing zone ----

/// A record as pulled.
#[derive(Debug, Clone, PartialEq)]
pub struct RawIn {
    pub external_id: String,
    /// The provider's JSON, as received.
    pub payload: String,
    pub source_updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRecord {
    pub external_id: String,
    pub payload: String,
    pub source_updated_at: Option<String>,
    pub ingested_at: DateTime<Utc>,
    pub run_id: Id,
}

/// Writes the items that are new or changed — `same(before, after)` says when the stored one
/// may stay — in transactions of [`WRITE_CHUNK`]; answers, per item, whether it was written.
async fn put_changed(db: TenantDb<'_>, items: Vec<Item>, same: impl Fn(&Item, &Item) -> bool) -> RepoResult<Vec<bool>> {
    let mut written = Vec::with_capacity(items.len());
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let chunk: Vec<Item> = items.by_ref().take(WRITE_CHUNK).collect();
        let keys: Vec<Key> = chunk.iter().filter_map(Key::of).collect();
        let existing = db.store().get_many(&keys).await?;
        let mut ops = vec![];
        for (item, before) in chunk.into_iter().zip(existing) {
            let changed = before.is_none_or(|b| !same(&b, &item));
            written.push(changed);
            if changed {
                ops.push(TxOp::Put { item, condition: Condition::None });
            }
        }
        if !ops.is_empty() {
            db.store().transact(ops).await?;
        }
    }
    Ok(written)
}

/// Lands records, writing only the new and changed ones (a record landed again as it was keeps
/// its first ingest time and run); answers, per record, whether it was written.
pub async fn land_raw(
    db: TenantDb<'_>,
    provider: Provider,
    gym: &Id,
    entity: &str,
    records: &[RawIn],
    run: &Id,
    now: DateTime<Utc>,
) -> RepoResult<Vec<bool>> {
    let items = records
        .iter()
        .map(|record| {
            let row = RawRecord {
                external_id: record.external_id.clone(),
                payload: record.payload.clone(),
                source_updated_at: record.source_updated_at.clone(),
                ingested_at: now,
                run_id: run.clone(),
            };
            let key = keys::raw_record(db.scope(), provider.as_str(), gym, entity, &record.external_id);
            keys::item_of("raw", encode(&row), key)
        })
        .collect();
    put_changed(db, items, |before, after| before.get("payload") == after.get("payload")).await
}

/// Every raw record of one entity of a gym, in id order.
pub async fn raw_all(db: TenantDb<'_>, provider: Provider, gym: &Id, entity: &str) -> RepoResult<Vec<RawRecord>> {
    let pk = keys::raw_partition(db.scope(), provider.as_str(), gym, entity);
    let mut out = vec![];
    let mut cursor = None;
    loop {
        let (page, next): (Vec<RawRecord>, _) = decode_page(
            db.store().query_json(Query::new(Index::Table, pk.clone()).limit(READ_PAGE).after(cursor)).await?,
        )?;
        out.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

// ---- canonical rows ----

/// A canonical row to write: its provider id, its JSON (with its `runId`), the month it is
/// dated in (for the by-month index).
#[derive(Debug, Clone)]
pub struct CanonicalRow {
    pub external_id: String,
    pub body: Value,
    pub month: Option<String>,
}

/// Writes canonical rows of `kind`, only those whose content (its run aside) or month changed;
/// answers how many were written.
pub async fn put_canonical(
    db: TenantDb<'_>,
    provider: Provider,
    gym: &Id,
    kind: &str,
    rows: &[CanonicalRow],
) -> RepoResult<u64> {
    let scope = db.scope();
    let items = rows
        .iter()
        .map(|row| {
            let key = keys::canonical(scope, gym, kind, provider.as_str(), &row.external_id);
            let mut item = keys::item_of(kind, row.body.clone(), key);
            if let Some(m) = &row.month {
                gsi(&mut item, keys::canonical_by_month(scope, gym, kind, m, provider.as_str(), &row.external_id));
            }
            item
        })
        .collect();
    // The whole item (keys and month index included) compared, its run aside.
    let same = |before: &Item, after: &Item| {
        before.len() == after.len() && before.iter().all(|(k, v)| k == "runId" || after.get(k) == Some(v))
    };
    let written = put_changed(db, items, same).await?;
    Ok(written.iter().filter(|w| **w).count() as u64)
}

/// Canonical rows of `kind` by external id, as JSON (`None` for those not written yet).
pub async fn canonical_get(
    db: TenantDb<'_>,
    provider: Provider,
    gym: &Id,
    kind: &str,
    external_ids: &[String],
) -> RepoResult<Vec<Option<Value>>> {
    let mut out = Vec::with_capacity(external_ids.len());
    for chunk in external_ids.chunks(100) {
        let keys: Vec<Key> =
            chunk.iter().map(|e| keys::canonical(db.scope(), gym, kind, provider.as_str(), e)).collect();
        out.extend(db.store().get_many(&keys).await?.into_iter().map(|i| i.map(Value::Object)));
    }
    Ok(out)
}

async fn read_all(db: TenantDb<'_>, query: Query) -> RepoResult<Vec<String>> {
    let mut out = vec![];
    let mut cursor = None;
    loop {
        let page = db.store().query_json(query.clone().limit(READ_PAGE).after(cursor)).await?;
        out.extend(page.items);
        match page.next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Every canonical row of `kind` of a gym, as JSON.
pub async fn canonical_all(db: TenantDb<'_>, gym: &Id, kind: &str) -> RepoResult<Vec<String>> {
    read_all(db, Query::new(Index::Table, keys::canonical_partition(db.scope(), gym, kind))).await
}

/// The canonical rows of `kind` dated in `month` (`2026-11`), as JSON.
pub async fn canonical_month(db: TenantDb<'_>, gym: &Id, kind: &str, month: &str) -> RepoResult<Vec<String>> {
    read_all(db, Query::new(Index::Gsi1, keys::canonical_by_month_partition(db.scope(), gym, kind, month))).await
}

// ---- the monthly metrics cache ----

pub async fn put_metrics(db: TenantDb<'_>, gym: &Id, metrics: &MonthlyMetrics) -> RepoResult<()> {
    let item = keys::item_of("metrics", encode(metrics), keys::metrics_month(db.scope(), gym, &metrics.month));
    Ok(db.store().put(item, Condition::None).await?)
}

/// The cached months `from..=to` (`YYYY-MM`), oldest first; months never computed are absent.
pub async fn metrics_range(db: TenantDb<'_>, gym: &Id, from: &str, to: &str) -> RepoResult<Vec<MonthlyMetrics>> {
    let query = Query::new(Index::Table, keys::metrics_partition(db.scope(), gym))
        .sk(SkCondition::Between(from.to_string(), to.to_string()));
    read_all(db, query).await?.iter().map(|j| decode_json(j)).collect()
}

// ---- purge ----

/// Deletes a gym's synced data of `provider`: raw records, canonical rows, the metrics cache.
/// Answers how many items went. Runs are kept (the audit trail of what happened).
pub async fn purge(
    db: TenantDb<'_>,
    provider: Provider,
    gym: &Id,
    entities: &[&str],
    kinds: &[&str],
) -> RepoResult<u64> {
    let scope = db.scope();
    let mut partitions: Vec<String> =
        entities.iter().map(|e| keys::raw_partition(scope, provider.as_str(), gym, e)).collect();
    partitions.extend(kinds.iter().map(|k| keys::canonical_partition(scope, gym, k)));
    partitions.push(keys::metrics_partition(scope, gym));
    let mut deleted = 0;
    for pk in partitions {
        loop {
            let page = db.store().query(Query::new(Index::Table, pk.clone()).limit(WRITE_CHUNK)).await?;
            if page.items.is_empty() {
                break;
            }
            let ops: Vec<TxOp> = page
                .items
                .iter()
                .filter_map(Key::of)
                .map(|key| TxOp::Delete { key, condition: Condition::None })
                .collect();
            deleted += ops.len() as u64;
            db.store().transact(ops).await?;
        }
    }
    Ok(deleted)
}
