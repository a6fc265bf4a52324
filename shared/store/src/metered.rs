//! A [`TableStore`] decorator that counts what each call would cost on DynamoDB on-demand
//! capacity, by DynamoDB's published rules, so the cost model (`docs/COST.md`) rests on counted
//! units rather than guesses:
//!
//! - a strongly consistent read: 1 read request unit (RRU) per 4 KB of the item (at least 1);
//!   a query: the items returned, summed, per 4 KB (at least 1) — 1 unit strongly consistent
//!   (the table), ½ eventually consistent (an index);
//! - a write (put, update, delete): 1 write request unit (WRU) per 1 KB of the larger of the
//!   item before and after (at least 1), plus the same again for each index the item is in
//!   before or after (an index entry that moves is a delete and a put: both counted);
//! - a transaction: twice the units of its writes, condition checks counted as writes.
//!
//! The JSON reads (`get_json`, `query_json`) are the port's defaults, so they go through the
//! counted `get` and `query`. Two things it cannot see: items a query reads and then filters out (DynamoDB bills them; the
//! model adds them where a filter is used), and the 1 MB page limit (no page here comes near).
//! Sizes follow DynamoDB's item-size rules (attribute names plus values) closely enough for
//! whole units.

use crate::item::{GSI1PK, GSI2PK, Index, Item, Key, Page, Query};
use crate::table::{Condition, StoreResult, TableStore, TxOp};
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;
use std::sync::Mutex;

/// Units and calls counted since the last [`MeteredTable::take`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Read request units (halves for eventually consistent reads).
    pub read_units: f64,
    pub write_units: f64,
    /// Calls to the table, each one round trip on DynamoDB.
    pub calls: u32,
}

pub struct MeteredTable {
    inner: Arc<dyn TableStore>,
    usage: Mutex<Usage>,
}

impl MeteredTable {
    pub fn new(inner: Arc<dyn TableStore>) -> MeteredTable {
        MeteredTable { inner, usage: Mutex::new(Usage::default()) }
    }

    /// What was spent since the last call, resetting the count.
    pub fn take(&self) -> Usage {
        std::mem::take(&mut *self.usage.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn add(&self, read: f64, write: f64) {
        let mut u = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        u.read_units += read;
        u.write_units += write;
        u.calls += 1;
    }

    /// The item at `key` as it is now (to size a write by the larger of before and after).
    async fn before(&self, key: Option<Key>) -> Option<Item> {
        self.inner.get(&key?).await.ok().flatten()
    }
}

/// DynamoDB's size of a value: strings and numbers by their bytes (numbers about one byte per
/// two digits), maps and lists 3 bytes plus their contents, booleans and null 1 byte.
fn value_size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Number(n) => n.to_string().len().div_ceil(2) + 1,
        Value::Bool(_) | Value::Null => 1,
        Value::Array(a) => 3 + a.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        Value::Object(m) => 3 + m.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
    }
}

/// An item's size: every attribute's name and value.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn units(bytes: usize, unit: usize) -> f64 {
    bytes.div_ceil(unit).max(1) as f64
}

fn indexes(item: Option<&Item>) -> usize {
    item.map_or(0, |i| [GSI1PK, GSI2PK].iter().filter(|a| i.contains_key(**a)).count())
}

/// Write units of replacing `before` with `after` (either may be absent): the table write plus
/// one per index entry touched.
fn write_units(before: Option<&Item>, after: Option<&Item>) -> f64 {
    let size = before.map_or(0, item_size).max(after.map_or(0, item_size));
    units(size, 1024) * (1 + indexes(before).max(indexes(after))) as f64
}

#[async_trait]
impl TableStore for MeteredTable {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        let item = self.inner.get(key).await?;
        self.add(units(item.as_ref().map_or(0, item_size), 4096), 0.0);
        Ok(item)
    }

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        let before = self.before(Key::of(&item)).await;
        self.add(0.0, write_units(before.as_ref(), Some(&item)));
        self.inner.put(item, condition).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
        let before = self.before(Some(key.clone())).await;
        self.add(0.0, write_units(before.as_ref(), None));
        self.inner.delete(key, condition).await
    }

    async fn increment(
        &self,
        key: &Key,
        attr: &str,
        delta: i64,
        max: Option<i64>,
        ttl: Option<i64>,
    ) -> StoreResult<i64> {
        let before = self.before(Some(key.clone())).await;
        self.add(0.0, write_units(before.as_ref(), before.as_ref()));
        self.inner.increment(key, attr, delta, max, ttl).await
    }

    /// A batch read costs what its items' reads would; it is one call.
    async fn get_many(&self, keys: &[Key]) -> StoreResult<Vec<Option<Item>>> {
        let items = self.inner.get_many(keys).await?;
        let read = items.iter().map(|i| units(i.as_ref().map_or(0, item_size), 4096)).sum();
        self.add(read, 0.0);
        Ok(items)
    }

    async fn query(&self, query: Query) -> StoreResult<Page> {
        let consistency = if query.index == Index::Table { 1.0 } else { 0.5 };
        let page = self.inner.query(query).await?;
        self.add(units(page.items.iter().map(item_size).sum(), 4096) * consistency, 0.0);
        Ok(page)
    }

    async fn transact(&self, ops: Vec<TxOp>) -> StoreResult<()> {
        let mut write = 0.0;
        for op in &ops {
            let before = self.before(op.key()).await;
            write += match op {
                TxOp::Put { item, .. } => write_units(before.as_ref(), Some(item)),
                TxOp::Delete { .. } => write_units(before.as_ref(), None),
                TxOp::Check { .. } => units(before.as_ref().map_or(0, item_size), 1024),
                TxOp::Add { key, deltas } => {
                    let mut after = before.clone().unwrap_or_else(|| crate::item::counter_item(key, None));
                    for (attr, delta) in deltas {
                        let current = after.get(attr).and_then(Value::as_i64).unwrap_or(0);
                        after.insert(attr.clone(), Value::from(current + delta));
                    }
                    write_units(before.as_ref(), Some(&after))
                }
            };
        }
        self.add(0.0, 2.0 * write);
        self.inner.transact(ops).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_and_units_follow_dynamodb() {
        let item: Item = serde_json::from_value(json!({"PK": "BIZ#1", "SK": "x", "n": 12345})).unwrap();
        assert_eq!(item_size(&item), 2 + 5 + 2 + 1 + 1 + 4);
        assert_eq!(units(0, 4096), 1.0);
        assert_eq!(units(4097, 4096), 2.0);
        let mut indexed = item.clone();
        indexed.insert(GSI1PK.into(), json!("A"));
        assert_eq!(write_units(None, Some(&item)), 1.0);
        assert_eq!(write_units(Some(&item), Some(&indexed)), 2.0, "entering an index is a write too");
    }
}
