//! The embedded table store: DynamoDB single-table semantics on one SQLite file.
//!
//! One connection behind a mutex serialises writers, which is what makes conditional writes,
//! counters and transactions atomic here (as DynamoDB's item-level atomicity does there). WAL
//! mode keeps a crash from losing committed writes.

use crate::clock::Clock;
use crate::item::{self, Cursor, Filter, Index, Item, Key, Page, Query, SkCondition, is_expired};
use crate::table::{Condition, JsonPage, StoreError, StoreResult, TableStore, TxOp, validate_transaction};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value as SqlValue};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Read connections beside the writer (WAL lets them read while the writer writes).
const READERS: usize = 4;
/// The writer's page cache of a file database, in KiB (readers keep 64 MB each).
const WRITER_CACHE_KIB: i64 = 8 * 1024;

pub struct SqliteTable {
    /// Every write, and every read that decides a write, goes through this one connection.
    conn: Mutex<Connection>,
    /// Writes take turns here first, asynchronously, so writes queued behind a commit wait as
    /// tasks, not as runtime threads blocked on `conn` (which would leave reads no thread).
    turn: tokio::sync::Mutex<()>,
    /// Plain reads (get, query) use these, so they neither wait for writes nor for each other.
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    clock: Arc<dyn Clock>,
    /// The embedded counterpart of a DynamoDB stream with a filter: woken after a commit that
    /// wrote a matching item.
    watchers: std::sync::RwLock<Vec<Watcher>>,
    _checkpointer: Option<Checkpointer>,
}

/// Copies the WAL into the database file on its own thread and connection, every
/// [`CHECKPOINT_EVERY`], so no commit waits for a checkpoint and its `fsync` (SQLite's automatic
/// checkpoint runs inside whichever commit crosses 1,000 pages, holding the writer). Passive: it
/// never blocks readers or the writer. Stops when dropped.
pub(crate) struct Checkpointer {
    stop: Arc<std::sync::atomic::AtomicBool>,
}

pub(crate) const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// The WAL's length (4 KiB pages: 32 MiB) past which the checkpointer rewinds it.
const RESTART_FRAMES: i64 = 8192;

impl Checkpointer {
    /// Turns off `writer`'s automatic checkpoints and starts checkpointing `path` instead.
    pub(crate) fn start(path: &Path, writer: &Connection) -> StoreResult<Checkpointer> {
        writer.pragma_update(None, "wal_autocheckpoint", 0).map_err(backend)?;
        // A rewound WAL is cut back to this size (it stays allocated up to it: no regrowth cost).
        writer.pragma_update(None, "journal_size_limit", RESTART_FRAMES * 4096 * 2).map_err(backend)?;
        let conn = Connection::open(path).map_err(backend)?;
        conn.pragma_update(None, "busy_timeout", 5000).map_err(backend)?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    let frames = |mode: &str| {
                        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get::<_, i64>(1))
                    };
                    // Under a steady stream of writes a passive checkpoint never finds the WAL
                    // fully copied at the moment a writer starts, so SQLite never rewinds it: it
                    // would grow without end, and every page read would search more of it. Past
                    // RESTART_FRAMES, wait for the readers of the moment and rewind it.
                    match frames("PASSIVE") {
                        Ok(n) if n >= RESTART_FRAMES => {
                            if let Err(e) = frames("RESTART") {
                                tracing::warn!(error = %e, "WAL restart failed");
                            }
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                    }
                }
            })
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Checkpointer { stop })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

struct Watcher {
    matches: Box<dyn Fn(&Item) -> bool + Send + Sync>,
    notify: Arc<tokio::sync::Notify>,
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
    /// Opens (creating if needed) the database file, with a writer and a few readers.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> StoreResult<SqliteTable> {
        let conn = Connection::open(path).map_err(backend)?;
        let mut table = Self::init(conn, clock)?;
        // The writer's cache holds what writes touch (counters, the right-hand edges of the
        // indexes): a small one. A large one only fills with the pages of an ever-growing audit
        // log (docs/PERFORMANCE.md, peak RSS).
        table.lock().pragma_update(None, "cache_size", -WRITER_CACHE_KIB).map_err(backend)?;
        let checkpointer = Checkpointer::start(path, &table.lock())?;
        table._checkpointer = Some(checkpointer);
        for _ in 0..READERS {
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let reader = Connection::open_with_flags(path, flags).map_err(backend)?;
            tune(&reader)?;
            table.readers.push(Mutex::new(reader));
        }
        Ok(table)
    }

    /// A private in-memory database (tests): one connection serves reads and writes.
    pub fn in_memory(clock: Arc<dyn Clock>) -> StoreResult<SqliteTable> {
        Self::init(Connection::open_in_memory().map_err(backend)?, clock)
    }

    fn init(conn: Connection, clock: Arc<dyn Clock>) -> StoreResult<SqliteTable> {
        conn.pragma_update(None, "journal_mode", "WAL").map_err(backend)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(backend)?;
        tune(&conn)?;

        conn.execute_batch(SCHEMA).map_err(backend)?;
        Ok(SqliteTable {
            conn: Mutex::new(conn),
            turn: tokio::sync::Mutex::new(()),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            clock,
            watchers: Default::default(),
            _checkpointer: None,
        })
    }

    /// Notifies (once per commit, coalescing) whenever a committed put or transaction wrote an
    /// item `matches` accepts: what a DynamoDB stream with filter criteria does for a Lambda.
    pub fn watch(&self, matches: impl Fn(&Item) -> bool + Send + Sync + 'static) -> Arc<tokio::sync::Notify> {
        let notify = Arc::new(tokio::sync::Notify::new());
        self.watchers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Watcher { matches: Box::new(matches), notify: notify.clone() });
        notify
    }

    fn written<'a>(&self, items: impl Iterator<Item = &'a Item> + Clone) {
        let watchers = self.watchers.read().unwrap_or_else(|e| e.into_inner());
        for w in watchers.iter() {
            if items.clone().any(|i| (w.matches)(i)) {
                w.notify.notify_one();
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The writer, once it is this write's turn.
    async fn write_lock(&self) -> (tokio::sync::MutexGuard<'_, ()>, MutexGuard<'_, Connection>) {
        let turn = self.turn.lock().await;
        (turn, self.lock())
    }

    /// The first free read connection if there is one, else the next in turn. First free, not
    /// round robin: each connection's page cache is emptied by any commit, so one request's
    /// reads in a row (a leaderboard's 8 shard queries and its tree nodes) refill one cache
    /// instead of four.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        if self.readers.is_empty() {
            return self.lock();
        }
        for reader in &self.readers {
            if let Ok(guard) = reader.try_lock() {
                return guard;
            }
        }
        let next = self.next_reader.fetch_add(1, Ordering::Relaxed);
        self.readers[next % self.readers.len()].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// One page of a query as stored JSON bodies, with the cursor after the last one. Key
    /// conditions, filters, TTL, order and the page size are all done by SQLite.
    fn run_query(&self, q: &Query) -> StoreResult<(Vec<String>, Option<Cursor>)> {
        q.validate()?;
        let (pk_col, sk_col) = match q.index {
            Index::Table => ("pk", "sk"),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
            Index::Gsi2 => ("gsi2pk", "gsi2sk"),
        };
        let mut sql = format!("SELECT pk, sk, {pk_col}, {sk_col}, body FROM items WHERE {pk_col} = ?");
        let mut args: Vec<SqlValue> = vec![SqlValue::Text(q.pk.clone())];
        // The sort key's bounds and the cursor's. SQLite seeks on one lower (and one upper)
        // bound and tests any other row by row: a bound the cursor already passes is left out,
        // or each page would walk the index from the range's start again (docs/PERFORMANCE.md).
        let mut bounds: Vec<(&str, String)> = match &q.sk {
            None => vec![],
            Some(SkCondition::Eq(v)) => vec![("=", v.clone())],
            Some(SkCondition::BeginsWith(v)) => vec![(">=", v.clone()), ("<", format!("{v}\u{10FFFF}"))],
            Some(SkCondition::Between(a, b)) => vec![(">=", a.clone()), ("<=", b.clone())],
            Some(SkCondition::Lt(v)) => vec![("<", v.clone())],
            Some(SkCondition::Le(v)) => vec![("<=", v.clone())],
            Some(SkCondition::Gt(v)) => vec![(">", v.clone())],
            Some(SkCondition::Ge(v)) => vec![(">=", v.clone())],
        };
        let text = |v: &str| SqlValue::Text(v.to_owned());
        if let Some(c) = &q.cursor {
            let op = if q.forward { ">" } else { "<" };
            let at = if q.index == Index::Table { c.sk.as_str() } else { c.index_sk.as_deref().unwrap_or_default() };
            // Passed: every key after (before) the cursor is inside the bound too.
            let passed = |o: &str, v: &str| match (q.forward, o) {
                (true, ">=") => at >= v,
                (true, ">") => at > v,
                (false, "<=") => at <= v,
                (false, "<") => at < v,
                _ => false,
            };
            bounds.retain(|(o, v)| !passed(o, v));
            if q.index == Index::Table {
                sql.push_str(&format!(" AND sk {op} ?"));
                args.push(text(at));
            } else {
                sql.push_str(&format!(" AND ({sk_col}, pk, sk) {op} (?, ?, ?)"));
                args.extend([text(at), text(&c.pk), text(&c.sk)]);
            }
        }
        for (o, v) in bounds {
            sql.push_str(&format!(" AND {sk_col} {o} ?"));
            args.push(SqlValue::Text(v));
        }
        sql.push_str(" AND (ttl IS NULL OR ttl > ?)");
        args.push(SqlValue::Integer(self.now()));
        for filter in &q.filters {
            push_filter(filter, &mut sql, &mut args)?;
        }
        let dir = if q.forward { "ASC" } else { "DESC" };
        match q.index {
            Index::Table => sql.push_str(&format!(" ORDER BY sk {dir}")),
            _ => sql.push_str(&format!(" ORDER BY {sk_col} {dir}, pk {dir}, sk {dir}")),
        }
        sql.push_str(" LIMIT ?");
        args.push(SqlValue::Integer(q.limit as i64 + 1));

        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        let mut rows = stmt.query(params_from_iter(args.iter())).map_err(backend)?;
        let mut bodies = Vec::with_capacity(q.limit.min(128) + 1);
        let mut last_key = None;
        while let Some(row) = rows.next().map_err(backend)? {
            if bodies.len() == q.limit {
                // One more row exists: the page is full and has a successor.
                let (pk, sk, ipk, isk): (String, String, Option<String>, Option<String>) =
                    last_key.take().unwrap_or_default();
                let (index_pk, index_sk) = if q.index == Index::Table { (None, None) } else { (ipk, isk) };
                return Ok((bodies, Some(Cursor { pk, sk, index_pk, index_sk })));
            }
            last_key = Some((
                row.get(0).map_err(backend)?,
                row.get(1).map_err(backend)?,
                row.get(2).map_err(backend)?,
                row.get(3).map_err(backend)?,
            ));
            bodies.push(row.get(4).map_err(backend)?);
        }
        Ok((bodies, None))
    }

    /// Moves everything from the write-ahead log into the database file (reads of pages still in
    /// the WAL go through `pread`, reads of the file through the memory map).
    pub fn checkpoint(&self) -> StoreResult<()> {
        self.lock().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").map_err(backend)
    }

    /// Deletes items whose TTL has passed (DynamoDB does this in the background; reads never
    /// depend on it). Returns how many went.
    pub fn sweep_expired(&self) -> StoreResult<usize> {
        let now = self.now();
        self.lock().execute("DELETE FROM items WHERE ttl IS NOT NULL AND ttl <= ?1", params![now]).map_err(backend)
    }
}

/// Page cache and memory-mapped reads sized for a local stack (the default 2 MB cache makes
/// every read of a seeded database a `pread`).
fn tune(conn: &Connection) -> StoreResult<()> {
    conn.pragma_update(None, "busy_timeout", 5000).map_err(backend)?;
    conn.pragma_update(None, "cache_size", -65_536).map_err(backend)?;
    // Memory-mapped reads: +45 % on the read benchmark and a third of the memory. The price is
    // under heavy writes: a read connection drops its whole map whenever another has written
    // since its last read (SQLite's rule in WAL mode) — measured within noise on the webhook
    // benchmark (docs/PERFORMANCE.md).
    conn.pragma_update(None, "mmap_size", 268_435_456).map_err(backend)?;
    Ok(())
}

/// A filter as SQL over the stored JSON, with DynamoDB's typing: `contains` only matches
/// strings, and equality compares type and value.
fn push_filter(filter: &Filter, sql: &mut String, args: &mut Vec<SqlValue>) -> StoreResult<()> {
    let path = |attr: &str| SqlValue::Text(format!("$.\"{}\"", attr.replace('"', "")));
    match filter {
        Filter::Contains(attr, needle) => {
            sql.push_str(" AND json_type(body, ?) = 'text' AND instr(json_extract(body, ?), ?) > 0");
            args.extend([path(attr), path(attr), SqlValue::Text(needle.clone())]);
        }
        Filter::Equals(attr, value) => match value {
            Value::String(v) => {
                sql.push_str(" AND json_type(body, ?) = 'text' AND json_extract(body, ?) = ?");
                args.extend([path(attr), path(attr), SqlValue::Text(v.clone())]);
            }
            Value::Bool(b) => {
                sql.push_str(" AND json_type(body, ?) = ?");
                args.extend([path(attr), SqlValue::Text(if *b { "true" } else { "false" }.into())]);
            }
            Value::Null => {
                sql.push_str(" AND json_type(body, ?) = 'null'");
                args.push(path(attr));
            }
            Value::Number(n) => {
                sql.push_str(" AND json_type(body, ?) IN ('integer', 'real') AND json_extract(body, ?) = ?");
                let number = match (n.as_i64(), n.as_f64()) {
                    (Some(i), _) => SqlValue::Integer(i),
                    (None, Some(f)) => SqlValue::Real(f),
                    _ => {
                        return Err(StoreError::Invalid(format!("unsupported number {n} in a filter")));
                    }
                };
                args.extend([path(attr), path(attr), number]);
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(StoreError::Invalid("filters compare strings, numbers, booleans and null only".into()));
            }
        },
    }
    Ok(())
}

fn read_live(conn: &Connection, key: &Key, now: i64) -> StoreResult<Option<Item>> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut st| st.query_row(params![key.pk, key.sk], |r| r.get(0)).optional())
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
    let key = Key::of(item).ok_or_else(|| StoreError::Invalid("an item needs string PK and SK attributes".into()))?;
    let gsi = |p: &str, s: &str| match (str_attr(item, p), str_attr(item, s)) {
        (Some(a), Some(b)) => (Some(a.to_owned()), Some(b.to_owned())),
        _ => (None, None),
    };
    let (g1p, g1s) = gsi(item::GSI1PK, item::GSI1SK);
    let (g2p, g2s) = gsi(item::GSI2PK, item::GSI2SK);
    let ttl = item.get(item::TTL).and_then(Value::as_i64);
    let body = Value::Object(item.clone()).to_string();
    conn.prepare_cached(
        "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, ttl, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (pk, sk) DO UPDATE SET gsi1pk = excluded.gsi1pk, gsi1sk = excluded.gsi1sk,
           gsi2pk = excluded.gsi2pk, gsi2sk = excluded.gsi2sk, ttl = excluded.ttl, body = excluded.body",
    )
    .and_then(|mut st| st.execute(params![key.pk, key.sk, g1p, g1s, g2p, g2s, ttl, body]))
    .map_err(backend)?;
    Ok(())
}

fn delete_item(conn: &Connection, key: &Key) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut st| st.execute(params![key.pk, key.sk]))
        .map_err(backend)?;
    Ok(())
}

/// Runs `f` inside an IMMEDIATE transaction, committing only if it returns Ok.
fn in_transaction<T>(conn: &Connection, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
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
        read_live(&self.reader(), key, self.now())
    }

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        let key =
            Key::of(&item).ok_or_else(|| StoreError::Invalid("an item needs string PK and SK attributes".into()))?;
        let now = self.now();
        let (_turn, conn) = self.write_lock().await;
        in_transaction(&conn, |c| {
            if condition != Condition::None && !condition_holds(read_live(c, &key, now)?.as_ref(), &condition) {
                return Err(StoreError::ConditionFailed);
            }
            write_item(c, &item)
        })?;
        drop(conn);
        self.written(std::iter::once(&item));
        Ok(())
    }

    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
        let now = self.now();
        let (_turn, conn) = self.write_lock().await;
        in_transaction(&conn, |c| {
            if condition != Condition::None && !condition_holds(read_live(c, key, now)?.as_ref(), &condition) {
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
        let (_turn, conn) = self.write_lock().await;
        in_transaction(&conn, |c| {
            let mut item = match read_live(c, key, now)? {
                Some(item) => item,
                None => item::counter_item(key, ttl),
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
        let (bodies, next) = self.run_query(&q)?;
        let items = bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(|e| StoreError::Backend(e.to_string())))
            .collect::<StoreResult<Vec<Item>>>()?;
        Ok(Page { items, next })
    }

    async fn get_many(&self, keys: &[Key]) -> StoreResult<Vec<Option<Item>>> {
        crate::table::check_batch(keys)?;
        let now = self.now();
        let conn = self.reader();
        keys.iter().map(|k| read_live(&conn, k, now)).collect()
    }

    async fn get_json(&self, key: &Key) -> StoreResult<Option<String>> {
        let now = self.now();
        self.reader()
            .query_row(
                "SELECT body FROM items WHERE pk = ?1 AND sk = ?2 AND (ttl IS NULL OR ttl > ?3)",
                params![key.pk, key.sk, now],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)
    }

    async fn query_json(&self, q: Query) -> StoreResult<JsonPage> {
        let (items, next) = self.run_query(&q)?;
        Ok(JsonPage { items, next })
    }

    async fn transact(&self, ops: Vec<TxOp>) -> StoreResult<()> {
        validate_transaction(&ops)?;
        let now = self.now();
        let (_turn, conn) = self.write_lock().await;
        in_transaction(&conn, |c| {
            let mut failed = Vec::new();
            for (i, op) in ops.iter().enumerate() {
                let (key, condition) = match op {
                    TxOp::Put { item, condition } => (Key::of(item).expect("validated"), condition),
                    TxOp::Delete { key, condition } | TxOp::Check { key, condition } => (key.clone(), condition),
                    TxOp::Add { .. } => continue,
                };
                if *condition != Condition::None && !condition_holds(read_live(c, &key, now)?.as_ref(), condition) {
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
                    TxOp::Add { key, deltas } => {
                        let mut item = read_live(c, key, now)?.unwrap_or_else(|| item::counter_item(key, None));
                        for (attr, delta) in deltas {
                            let current = item.get(attr).and_then(Value::as_i64).unwrap_or(0);
                            item.insert(attr.clone(), Value::from(current + delta));
                        }
                        write_item(c, &item)?;
                    }
                }
            }
            Ok(())
        })?;
        drop(conn);
        self.written(ops.iter().filter_map(|op| match op {
            TxOp::Put { item, .. } => Some(item),
            _ => None,
        }));
        Ok(())
    }
}
