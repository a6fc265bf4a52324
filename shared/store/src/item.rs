//! Items, keys and queries, shaped after DynamoDB so that one model fits both adapters.
//!
//! An item is a JSON object. Reserved attributes: `PK`, `SK` (the table key), `GSI1PK`/`GSI1SK`
//! and `GSI2PK`/`GSI2SK` (two global secondary indexes; an item without them is not in that
//! index) and `ttl` (Unix seconds; an item whose `ttl` has passed is invisible to every read).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

pub type Item = Map<String, Value>;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
pub const TTL: &str = "ttl";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Key {
        Key { pk: pk.into(), sk: sk.into() }
    }

    pub fn of(item: &Item) -> Option<Key> {
        Some(Key::new(item.get(PK)?.as_str()?, item.get(SK)?.as_str()?))
    }
}

/// Which key a query runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Table,
    Gsi1,
    Gsi2,
}

impl Index {
    pub fn attributes(self) -> (&'static str, &'static str) {
        match self {
            Index::Table => (PK, SK),
            Index::Gsi1 => (GSI1PK, GSI1SK),
            Index::Gsi2 => (GSI2PK, GSI2SK),
        }
    }

    pub fn dynamo_name(self) -> Option<&'static str> {
        match self {
            Index::Table => None,
            Index::Gsi1 => Some("GSI1"),
            Index::Gsi2 => Some("GSI2"),
        }
    }
}

/// A condition on the sort key of the queried index (DynamoDB's key condition forms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkCondition {
    Eq(String),
    BeginsWith(String),
    /// Inclusive on both ends.
    Between(String, String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
}

/// A filter applied after the key condition. Filters narrow a page; they never make it skip
/// matching items (adapters keep reading until the page is full or the partition ends).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// The string attribute contains the substring (case-sensitive: fold both sides first).
    Contains(String, String),
    Equals(String, Value),
}

impl Filter {
    pub fn matches(&self, item: &Item) -> bool {
        match self {
            Filter::Contains(attr, needle) => {
                item.get(attr).and_then(Value::as_str).is_some_and(|s| s.contains(needle.as_str()))
            }
            Filter::Equals(attr, value) => item.get(attr) == Some(value),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk: Option<SkCondition>,
    /// Ascending sort-key order when true.
    pub forward: bool,
    /// At most this many items in the page (1..=1000).
    pub limit: usize,
    pub cursor: Option<Cursor>,
    pub filters: Vec<Filter>,
}

impl Query {
    pub fn new(index: Index, pk: impl Into<String>) -> Query {
        Query { index, pk: pk.into(), sk: None, forward: true, limit: 100, cursor: None, filters: Vec::new() }
    }
    pub fn sk(mut self, cond: SkCondition) -> Self {
        self.sk = Some(cond);
        self
    }
    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }
    pub fn forward(mut self, forward: bool) -> Self {
        self.forward = forward;
        self
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }
}

impl Query {
    /// The checks every adapter applies before running a query.
    pub fn validate(&self) -> Result<(), crate::StoreError> {
        use crate::StoreError::Invalid;
        if self.limit == 0 || self.limit > 1000 {
            return Err(Invalid(format!("limit must be 1..=1000, not {}", self.limit)));
        }
        if let Some(c) = &self.cursor {
            // A cursor only continues the listing it came from: same index, same partition, and
            // a position inside the sort-key condition (DynamoDB refuses anything else).
            let (partition, position) = match self.index {
                Index::Table => (Some(&c.pk), Some(&c.sk)),
                _ => (c.index_pk.as_ref(), c.index_sk.as_ref()),
            };
            let fits = c.fits(self.index)
                && partition == Some(&self.pk)
                && position.is_some_and(|p| self.sk.as_ref().is_none_or(|cond| sk_matches(cond, p)));
            if !fits {
                return Err(crate::StoreError::BadCursor);
            }
        }
        if self.filters.iter().any(|f| matches!(f, Filter::Equals(_, Value::Array(_) | Value::Object(_)))) {
            return Err(Invalid("filters compare strings, numbers, booleans and null only".into()));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present when more items follow; pass it back as `Query::cursor`.
    pub next: Option<Cursor>,
}

/// The position after an item in an index: its table key plus its index key. Opaque to callers;
/// its wire form is base64url JSON. A cursor only positions a query: the partition always comes
/// from the query itself, so a cursor crafted for another tenant cannot reach that tenant's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub pk: String,
    pub sk: String,
    pub index_pk: Option<String>,
    pub index_sk: Option<String>,
}

impl Cursor {
    /// The cursor pointing just after `item` in `index`.
    pub fn after_item(index: Index, item: &Item) -> Option<Cursor> {
        let key = Key::of(item)?;
        let (ipk, isk) = match index {
            Index::Table => (None, None),
            other => {
                let (p, s) = other.attributes();
                (Some(item.get(p)?.as_str()?.to_owned()), Some(item.get(s)?.as_str()?.to_owned()))
            }
        };
        Some(Cursor { pk: key.pk, sk: key.sk, index_pk: ipk, index_sk: isk })
    }

    pub fn encode(&self) -> String {
        let mut map = Map::new();
        map.insert("p".into(), Value::String(self.pk.clone()));
        map.insert("s".into(), Value::String(self.sk.clone()));
        if let Some(v) = &self.index_pk {
            map.insert("ip".into(), Value::String(v.clone()));
        }
        if let Some(v) = &self.index_sk {
            map.insert("is".into(), Value::String(v.clone()));
        }
        URL_SAFE_NO_PAD.encode(Value::Object(map).to_string())
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        if s.is_empty() || s.len() > 2048 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        let value: Value = serde_json::from_slice(&bytes).ok()?;
        let field = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_owned);
        let cursor = Cursor { pk: field("p")?, sk: field("s")?, index_pk: field("ip"), index_sk: field("is") };
        (cursor.index_pk.is_some() == cursor.index_sk.is_some()).then_some(cursor)
    }

    /// The cursor must fit the query it is used with.
    pub fn fits(&self, index: Index) -> bool {
        (index == Index::Table) == self.index_pk.is_none()
    }
}

/// A new counter item: its key, and its TTL if any (the counter attribute is added by the caller).
pub fn counter_item(key: &Key, ttl: Option<i64>) -> Item {
    let mut item = Item::new();
    item.insert(PK.into(), Value::String(key.pk.clone()));
    item.insert(SK.into(), Value::String(key.sk.clone()));
    if let Some(ttl) = ttl {
        item.insert(TTL.into(), Value::from(ttl));
    }
    item
}

/// Whether the item's TTL has passed at `now` (Unix seconds).
pub fn is_expired(item: &Item, now: i64) -> bool {
    item.get(TTL).and_then(Value::as_i64).is_some_and(|ttl| ttl <= now)
}

pub fn sk_matches(cond: &SkCondition, sk: &str) -> bool {
    match cond {
        SkCondition::Eq(v) => sk == v,
        SkCondition::BeginsWith(v) => sk.starts_with(v.as_str()),
        SkCondition::Between(a, b) => sk >= a.as_str() && sk <= b.as_str(),
        SkCondition::Lt(v) => sk < v.as_str(),
        SkCondition::Le(v) => sk <= v.as_str(),
        SkCondition::Gt(v) => sk > v.as_str(),
        SkCondition::Ge(v) => sk >= v.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor { pk: "A".into(), sk: "B#é".into(), index_pk: Some("G".into()), index_sk: Some("H".into()) };
        assert_eq!(Cursor::decode(&c.encode()), Some(c.clone()));
        assert!(c.fits(Index::Gsi1) && !c.fits(Index::Table));
        for bad in ["", "!!!", "bm90IGpzb24", &"A".repeat(3000)] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
