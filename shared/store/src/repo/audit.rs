//! The audit log: one item per authenticated request, kept for the retention period (TTL).

use super::{RepoResult, encode};
use crate::item::{Cursor, Filter, Index, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, TableStore, TxOp};
use crate::tenant::{TenantDb, TenantScope};
use chrono::{DateTime, Duration, Utc};
use iron_domain::{AuditRecord, Id};
use serde_json::Value;

/// The write of one record, expiring `retention` after it happened.
pub fn write_op(record: &AuditRecord, retention: Duration) -> TxOp {
    let scope = TenantScope::new(record.business_id.clone());
    let sk = keys::audit_sk(record.at, &record.request_id);
    let mut item = keys::item_of("audit", encode(record), keys::audit(&scope, &sk));
    item.insert("statusClass".into(), Value::String(record.status_class()));
    let item = keys::with_gsi1(item, keys::audit_by_key(&scope, &record.key_id, &sk));
    TxOp::Put { item: keys::with_ttl(item, (record.at + retention).timestamp()), condition: Condition::None }
}

/// Writes records, up to 100 per transaction.
pub async fn write(store: &dyn TableStore, records: &[AuditRecord], retention: Duration) -> RepoResult<()> {
    for chunk in records.chunks(crate::table::MAX_TRANSACTION_OPS) {
        let mut ops: Vec<TxOp> = chunk.iter().map(|r| write_op(r, retention)).collect();
        // Two records can't share an item, but a batch may repeat one (a retried write).
        ops.dedup_by(|a, b| a.key() == b.key());
        if ops.len() == 1 {
            if let Some(TxOp::Put { item, condition }) = ops.pop() {
                store.put(item, condition).await?;
            }
        } else {
            store.transact(ops).await?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub key_id: Option<Id>,
    /// `2xx`, `4xx`, …
    pub status_class: Option<String>,
}

impl AuditFilter {
    pub fn index(&self) -> Index {
        if self.key_id.is_some() { Index::Gsi1 } else { Index::Table }
    }
}

/// Newest first.
pub async fn list(
    db: TenantDb<'_>,
    filter: &AuditFilter,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<AuditRecord>, Option<Cursor>)> {
    let (store, scope) = (db.store(), db.scope());
    let partition = match &filter.key_id {
        Some(k) => keys::audit_by_key_partition(scope, k),
        None => keys::audit_partition(scope),
    };
    let (lo, hi) = keys::time_bounds(filter.from, filter.to);
    let mut query =
        Query::new(filter.index(), partition).sk(SkCondition::Between(lo, hi)).backward().limit(limit).after(cursor);
    if let Some(class) = &filter.status_class {
        query = query.filter(Filter::Equals("statusClass".into(), Value::String(class.clone())));
    }
    super::decode_page(store.query_json(query).await?)
}
