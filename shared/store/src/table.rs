//! The table-store port: DynamoDB single-table semantics, implemented by the embedded SQLite
//! adapter here and by the DynamoDB adapter in `iron-aws`. `conformance` holds the suite both
//! must pass.

use crate::item::{Item, Key, Page, Query};
use async_trait::async_trait;
use serde_json::Value;

/// A precondition on the item at a key. Items past their TTL count as absent.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    None,
    /// No (live) item at the key.
    NotExists,
    /// A live item at the key.
    Exists,
    /// A live item whose attribute equals the value (optimistic concurrency on `version`).
    AttrEquals(String, Value),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TxOp {
    Put {
        item: Item,
        condition: Condition,
    },
    Delete {
        key: Key,
        condition: Condition,
    },
    /// Asserts a condition without writing.
    Check {
        key: Key,
        condition: Condition,
    },
    /// Adds each delta to its numeric attribute (absent counts as 0), creating the item (with
    /// just its key and these counters) if there is none: DynamoDB's `UpdateItem … ADD`.
    /// Unconditional, so concurrent adds to one item never fail each other's conditions.
    Add {
        key: Key,
        deltas: Vec<(String, i64)>,
    },
}

impl TxOp {
    pub fn key(&self) -> Option<Key> {
        match self {
            TxOp::Put { item, .. } => Key::of(item),
            TxOp::Delete { key, .. } | TxOp::Check { key, .. } | TxOp::Add { key, .. } => Some(key.clone()),
        }
    }
}

/// The most operations one transaction may hold (DynamoDB's limit).
pub const MAX_TRANSACTION_OPS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the condition on the item was not met")]
    ConditionFailed,
    /// No operation was applied; `failed` lists the indexes of the operations whose conditions
    /// failed (empty when the transaction was cancelled for another reason, e.g. a conflict).
    #[error("transaction cancelled (failed operations: {failed:?})")]
    TransactionCanceled { failed: Vec<usize> },
    #[error("invalid request to the store: {0}")]
    Invalid(String),
    /// The query's cursor comes from another listing (index, partition or range).
    #[error("the cursor does not belong to this listing")]
    BadCursor,
    #[error("the store is throttling requests")]
    Throttled,
    #[error("storage backend error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A page of items as JSON text (see [`TableStore::query_json`]).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPage {
    pub items: Vec<String>,
    pub next: Option<crate::item::Cursor>,
}

#[async_trait]
pub trait TableStore: Send + Sync + 'static {
    /// Strongly consistent read of one live item.
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>>;

    /// Writes the whole item (it must carry `PK` and `SK`) if the condition holds.
    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()>;

    /// Deletes the item if the condition holds. Deleting an absent item with `Condition::None`
    /// succeeds.
    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()>;

    /// Atomically adds `delta` to the numeric attribute `attr` (absent counts as 0), creating the
    /// item if needed, and returns the new value. With `max`, the update happens only if the new
    /// value would be `<= max`; otherwise `ConditionFailed` and nothing changes. `ttl` is set on
    /// the item when it is created. An expired item restarts from 0.
    async fn increment(
        &self,
        key: &Key,
        attr: &str,
        delta: i64,
        max: Option<i64>,
        ttl: Option<i64>,
    ) -> StoreResult<i64>;

    /// Items of one partition of the table or of an index, in sort-key order, paginated.
    async fn query(&self, query: Query) -> StoreResult<Page>;

    /// All-or-nothing conditional writes (at most [`MAX_TRANSACTION_OPS`], one per item).
    async fn transact(&self, ops: Vec<TxOp>) -> StoreResult<()>;

    /// Strongly consistent reads of several items at once (DynamoDB's `BatchGetItem`, at most
    /// [`MAX_BATCH_GET`] keys), answered in the order of `keys`.
    async fn get_many(&self, keys: &[Key]) -> StoreResult<Vec<Option<Item>>> {
        check_batch(keys)?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key).await?);
        }
        Ok(out)
    }

    /// [`get`](Self::get), answering the item as JSON text, for decoding straight into a type.
    /// An adapter that stores JSON text answers without parsing it.
    async fn get_json(&self, key: &Key) -> StoreResult<Option<String>> {
        Ok(self.get(key).await?.map(|item| Value::Object(item).to_string()))
    }

    /// [`query`](Self::query), answering the items as JSON text.
    async fn query_json(&self, query: Query) -> StoreResult<JsonPage> {
        let page = self.query(query).await?;
        Ok(JsonPage {
            items: page.items.into_iter().map(|item| Value::Object(item).to_string()).collect(),
            next: page.next,
        })
    }
}

/// The most keys one [`TableStore::get_many`] may read (DynamoDB's `BatchGetItem` limit).
pub const MAX_BATCH_GET: usize = 100;

/// Checks every batch read the same way in every adapter: 1 to 100 keys, no key twice.
pub fn check_batch(keys: &[Key]) -> StoreResult<()> {
    if keys.is_empty() || keys.len() > MAX_BATCH_GET {
        return Err(StoreError::Invalid(format!("a batch read holds 1 to {MAX_BATCH_GET} keys, not {}", keys.len())));
    }
    let unique: std::collections::HashSet<&Key> = keys.iter().collect();
    if unique.len() != keys.len() {
        return Err(StoreError::Invalid("a batch read names one key twice".into()));
    }
    Ok(())
}

/// Checks every transaction the same way in every adapter.
pub fn validate_transaction(ops: &[TxOp]) -> StoreResult<()> {
    if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
        return Err(StoreError::Invalid(format!(
            "a transaction holds 1 to {MAX_TRANSACTION_OPS} operations, not {}",
            ops.len()
        )));
    }
    let mut keys = std::collections::HashSet::new();
    for op in ops {
        let key = op.key().ok_or_else(|| StoreError::Invalid("every item needs string PK and SK".into()))?;
        if !keys.insert(key.clone()) {
            return Err(StoreError::Invalid(format!("two operations on one item ({}, {})", key.pk, key.sk)));
        }
        if let TxOp::Add { deltas, .. } = op {
            let names: std::collections::HashSet<&str> = deltas.iter().map(|(a, _)| a.as_str()).collect();
            let reserved = [crate::item::PK, crate::item::SK, crate::item::TTL];
            if deltas.is_empty()
                || names.len() != deltas.len()
                || names.iter().any(|n| reserved.contains(n) || n.is_empty())
            {
                return Err(StoreError::Invalid("an add names 1 or more distinct, non-key counters".into()));
            }
        }
    }
    Ok(())
}
