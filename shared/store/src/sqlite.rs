//! The embedded table store: DynamoDB single-table semantics on one SQLite file.
//!
//! One connection behind a mutex serialises writers, which is what makes conditional writes,
//! counters and transactions atomic here (as DynamoDB's item-level atomicity does there). WAL
//! mode keeps a crash from losing committed writes.

use crate::clock::Clock;
use crate::item::{
    self, Cursor, Index, Item, Key, Page, Query, SkCondition, is_expired, sk_matches,
};
use crate::table::{Condition, StoreError, StoreResult, TableStore, TxOp, validate_transaction};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value as SqlValue};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

pub struct SqliteTable {
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
  pk TEXT NOT NULL,
  sk TEXT NOT NULL,
  gsi1pk TEXT, gsi1sk TEXT,
  gsi2pk TEXT, gsi2sk TEXT,
  ttl INTEGER,
  body TEXT NOT NULL,
  PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk, pk, sk) WHERE gsi2pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_ttl ON items (ttl) WHERE ttl IS NOT NULL;
";

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteTable {
    /// Opens (creating if needed) the database file.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> StoreResult<SqliteTable> {
        let conn = Connection::open(path).map_err(backend)?;
        Self::init(conn, clock)
    }

    pub fn in_memory(clock: Arc<dyn Clock>) -> StoreResult<SqliteTable> {
        Self::init(Connection::open_in_memory().map_err(backend)?, clock)
    }

    fn init(conn: Connection, clock: Arc<dyn Clock>) -> StoreResult<SqliteTable> {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(backend)?;
        conn.pragma_update(None, "busy_timeout", 5000)
            .map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        Ok(SqliteTable {
            conn: Mutex::new(conn),
            clock,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Deletes items whose TTL has passed (DynamoDB does this in the background; reads never
    /// depend on it). Returns how many went.
    pub fn sweep_expired(&self) -> StoreResult<usize> {
        let now = self.now();
        self.lock()
            .execute(
                "DELETE FROM items WHERE ttl IS NOT NULL AND ttl <= ?1",
                params![now],
            )
            .map_err(backend)
    }
}

fn read_live(conn: &Connection, key: &Key, now: i64) -> StoreResult<Option<Item>> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM items WHERE pk = ?1 AND sk = ?2",
            params![key.pk, key.sk],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    let Some(body) = body else { return Ok(None) };
    let item: Item = serde_json::from_str(&body).map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok((!is_expired(&item, now)).then_some(item))
}

fn condition_holds(current: Option<&Item>, condition: &Condition) -> bool {
    match condition {
        Condition::None => true,
        Condition::NotExists => current.is_none(),
        Condition::Exists => current.is_some(),
        Condition::AttrEquals(attr, value) => current.and_then(|i| i.get(attr)) == Some(value),
    }
}

fn str_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(Value::as_str)
}

fn write_item(conn: &Connection, item: &Item) -> StoreResult<()> {
    let key = Key::of(item)
        .ok_or_else(|| StoreError::Invalid("an item needs string PK and SK attributes".into()))?;
    let gsi = |p: &str, s: &str| match (str_attr(item, p), str_attr(item, s)) {
        (Some(a), Some(b)) => (Some(a.to_owned()), Some(b.to_owned())),
        _ => (None, None),
    };
    let (g1p, g1s) = gsi(item::GSI1PK, item::GSI1SK);
    let (g2p, g2s) = gsi(item::GSI2PK, item::GSI2SK);
    let ttl = item.get(item::TTL).and_then(Value::as_i64);
    let body = Value::Object(item.clone()).to_string();
    conn.execute(
        "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, ttl, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (pk, sk) DO UPDATE SET gsi1pk = excluded.gsi1pk, gsi1sk = excluded.gsi1sk,
           gsi2pk = excluded.gsi2pk, gsi2sk = excluded.gsi2sk, ttl = excluded.ttl, body = excluded.body",
        params![key.pk, key.sk, g1p, g1s, g2p, g2s, ttl, body],
    )
    .map_err(backend)?;
    Ok(())
}

fn delete_item(conn: &Connection, key: &Key) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM items WHERE pk = ?1 AND sk = ?2",
        params![key.pk, key.sk],
    )
    .map_err(backend)?;
    Ok(())
}

/// Runs `f` inside an IMMEDIATE transaction, committing only if it returns Ok.
fn in_transaction<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("COMMIT").map_err(backend)?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

#[async_trait]
impl TableStore for SqliteTable {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        read_live(&self.lock(), key, self.now())
    }

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        let key = Key::of(&item).ok_or_else(|| {
            StoreError::Invalid("an item needs string PK and SK attributes".into())
        })?;
        let now = self.now();
        let conn = self.lock();
        in_transaction(&conn, |c| {
            if condition != Condition::None
                && !condition_holds(read_live(c, &key, now)?.as_ref(), &condition)
            {
                return Err(StoreError::ConditionFailed);
            }
            write_item(c, &item)
        })
    }

    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
        let now = self.now();
        let conn = self.lock();
        in_transaction(&conn, |c| {
            if condition != Condition::None
                && !condition_holds(read_live(c, key, now)?.as_ref(), &condition)
            {
                return Err(StoreError::ConditionFailed);
            }
            delete_item(c, key)
        })
    }

    async fn increment(
        &self,
        key: &Key,
        attr: &str,
        delta: i64,
        max: Option<i64>,
        ttl: Option<i64>,
    ) -> StoreResult<i64> {
        let now = self.now();
        let conn = self.lock();
        in_transaction(&conn, |c| {
            let mut item = match read_live(c, key, now)? {
                Some(item) => item,
                None => {
                    let mut fresh = Item::new();
                    fresh.insert(item::PK.into(), Value::String(key.pk.clone()));
                    fresh.insert(item::SK.into(), Value::String(key.sk.clone()));
                    if let Some(ttl) = ttl {
                        fresh.insert(item::TTL.into(), Value::from(ttl));
                    }
                    fresh
                }
            };
            let current = item.get(attr).and_then(Value::as_i64).unwrap_or(0);
            let next = current + delta;
            if max.is_some_and(|m| next > m) {
                return Err(StoreError::ConditionFailed);
            }
            item.insert(attr.to_owned(), Value::from(next));
            write_item(c, &item)?;
            Ok(next)
        })
    }

    async fn query(&self, q: Query) -> StoreResult<Page> {
        if q.limit == 0 || q.limit > 1000 {
            return Err(StoreError::Invalid(format!(
                "limit must be 1..=1000, not {}",
                q.limit
            )));
        }
        if let Some(c) = &q.cursor {
            if !c.fits(q.index) {
                return Err(StoreError::Invalid(
                    "the cursor belongs to another index".into(),
                ));
            }
        }
        let (pk_col, sk_col) = match q.index {
            Index::Table => ("pk", "sk"),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
            Index::Gsi2 => ("gsi2pk", "gsi2sk"),
        };
        let now = self.now();
        let mut sql = format!("SELECT body FROM items WHERE {pk_col} = ?");
        let mut args: Vec<SqlValue> = vec![SqlValue::Text(q.pk.clone())];
        let mut push = |clause: &str, values: Vec<String>, sql: &mut String| {
            sql.push_str(clause);
            args.extend(values.into_iter().map(SqlValue::Text));
        };
        match &q.sk {
            None => {}
            Some(SkCondition::Eq(v)) => {
                push(&format!(" AND {sk_col} = ?"), vec![v.clone()], &mut sql)
            }
            Some(SkCondition::BeginsWith(v)) => push(
                &format!(" AND {sk_col} >= ? AND {sk_col} < ?"),
                vec![v.clone(), format!("{v}\u{10FFFF}")],
                &mut sql,
            ),
            Some(SkCondition::Between(a, b)) => push(
                &format!(" AND {sk_col} BETWEEN ? AND ?"),
                vec![a.clone(), b.clone()],
                &mut sql,
            ),
            Some(SkCondition::Lt(v)) => {
                push(&format!(" AND {sk_col} < ?"), vec![v.clone()], &mut sql)
            }
            Some(SkCondition::Le(v)) => {
                push(&format!(" AND {sk_col} <= ?"), vec![v.clone()], &mut sql)
            }
            Some(SkCondition::Gt(v)) => {
                push(&format!(" AND {sk_col} > ?"), vec![v.clone()], &mut sql)
            }
            Some(SkCondition::Ge(v)) => {
                push(&format!(" AND {sk_col} >= ?"), vec![v.clone()], &mut sql)
            }
        }
        let op = if q.forward { ">" } else { "<" };
        if let Some(c) = &q.cursor {
            match q.index {
                Index::Table => push(&format!(" AND sk {op} ?"), vec![c.sk.clone()], &mut sql),
                _ => push(
                    &format!(" AND ({sk_col}, pk, sk) {op} (?, ?, ?)"),
                    vec![
                        c.index_sk.clone().unwrap_or_default(),
                        c.pk.clone(),
                        c.sk.clone(),
                    ],
                    &mut sql,
                ),
            }
        }
        let dir = if q.forward { "ASC" } else { "DESC" };
        sql.push_str(" AND (ttl IS NULL OR ttl > ?)");
        args.push(SqlValue::Integer(now));
        match q.index {
            Index::Table => sql.push_str(&format!(" ORDER BY sk {dir}")),
            _ => sql.push_str(&format!(" ORDER BY {sk_col} {dir}, pk {dir}, sk {dir}")),
        }

        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        let mut rows = stmt.query(params_from_iter(args.iter())).map_err(backend)?;
        let mut items = Vec::with_capacity(q.limit.min(128) + 1);
        while let Some(row) = rows.next().map_err(backend)? {
            let body: String = row.get(0).map_err(backend)?;
            let item: Item =
                serde_json::from_str(&body).map_err(|e| StoreError::Backend(e.to_string()))?;
            if q.filters.iter().all(|f| f.matches(&item)) {
                items.push(item);
                if items.len() > q.limit {
                    break;
                }
            }
        }
        let next = if items.len() > q.limit {
            items.truncate(q.limit);
            items.last().and_then(|i| Cursor::after_item(q.index, i))
        } else {
            None
        };
        if let Some(cond) = &q.sk {
            let (_, sk_attr) = q.index.attributes();
            debug_assert!(
                items
                    .iter()
                    .all(|i| str_attr(i, sk_attr).is_some_and(|s| sk_matches(cond, s)))
            );
        }
        Ok(Page { items, next })
    }

    async fn transact(&self, ops: Vec<TxOp>) -> StoreResult<()> {
        validate_transaction(&ops)?;
        let now = self.now();
        let conn = self.lock();
        in_transaction(&conn, |c| {
            let mut failed = Vec::new();
            for (i, op) in ops.iter().enumerate() {
                let (key, condition) = match op {
                    TxOp::Put { item, condition } => (Key::of(item).expect("validated"), condition),
                    TxOp::Delete { key, condition } | TxOp::Check { key, condition } => {
                        (key.clone(), condition)
                    }
                };
                if *condition != Condition::None
                    && !condition_holds(read_live(c, &key, now)?.as_ref(), condition)
                {
                    failed.push(i);
                }
            }
            if !failed.is_empty() {
                return Err(StoreError::TransactionCanceled { failed });
            }
            for op in &ops {
                match op {
                    TxOp::Put { item, .. } => write_item(c, item)?,
                    TxOp::Delete { key, .. } => delete_item(c, key)?,
                    TxOp::Check { .. } => {}
                }
            }
            Ok(())
        })
    }
}
