//! The embedded queue: SQS semantics in a SQLite file (iron-local).

use crate::clock::Clock;
use crate::queue::{Queue, QueueMessage, check_delay};
use crate::table::{StoreError, StoreResult};
use async_trait::async_trait;
use rusqlite::{Connection, params};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A queue in a SQLite file. Several named queues may share one file; `dead_letter` names the
/// queue a message moves to once received `max_receive_count` times without being deleted.
pub struct SqliteQueue {
    conn: Arc<Mutex<Connection>>,
    name: String,
    dead_letter: Option<(String, u32)>,
    clock: Arc<dyn Clock>,
    /// Wakes a long-polling `receive` on `send` (SQS's long polling answers at once too).
    sent: Arc<tokio::sync::Notify>,
    _checkpointer: Option<Arc<crate::sqlite::Checkpointer>>,
}

/// A receipt is `<message id>:<receive count>`: its message's id (the primary key).
fn message_id(receipt: &str) -> &str {
    receipt.split_once(':').map_or(receipt, |(id, _)| id)
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteQueue {
    pub fn open(path: &Path, name: &str, clock: Arc<dyn Clock>) -> StoreResult<SqliteQueue> {
        let conn = Connection::open(path).map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(backend)?;
        // As the table: a killed process loses nothing (the WAL is written before a commit
        // returns); only a power cut may lose the last commits, and a delivery whose message
        // is lost that way is queued again by the dispatcher's lost-delivery sweep.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(backend)?;
        conn.pragma_update(None, "busy_timeout", 5000).map_err(backend)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS messages (
               id TEXT PRIMARY KEY, queue TEXT NOT NULL, body TEXT NOT NULL,
               visible_at INTEGER NOT NULL, receive_count INTEGER NOT NULL DEFAULT 0,
               receipt TEXT, sent_at INTEGER NOT NULL);
             DROP INDEX IF EXISTS messages_visible;
             CREATE INDEX IF NOT EXISTS messages_due ON messages (queue, visible_at, sent_at);",
        )
        .map_err(backend)?;
        let checkpointer = crate::sqlite::Checkpointer::start(path, &conn)?;
        Ok(SqliteQueue {
            conn: Arc::new(Mutex::new(conn)),
            name: name.to_owned(),
            dead_letter: None,
            clock,
            sent: Default::default(),
            _checkpointer: Some(Arc::new(checkpointer)),
        })
    }

    /// Another named queue in the same file.
    pub fn sibling(&self, name: &str) -> SqliteQueue {
        SqliteQueue {
            conn: self.conn.clone(),
            name: name.to_owned(),
            dead_letter: None,
            clock: self.clock.clone(),
            sent: Default::default(),
            _checkpointer: self._checkpointer.clone(),
        }
    }

    pub fn with_dead_letter(mut self, queue: &str, max_receive_count: u32) -> SqliteQueue {
        self.dead_letter = Some((queue.to_owned(), max_receive_count.max(1)));
        self
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    fn receive_now(&self, max: usize, visibility: Duration) -> StoreResult<Vec<QueueMessage>> {
        let now = self.now_ms();
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
        let result = (|| {
            let mut out = Vec::new();
            let mut stmt = conn
                .prepare_cached("SELECT id, body, receive_count FROM messages WHERE queue = ?1 AND visible_at <= ?2 ORDER BY visible_at, sent_at LIMIT ?3")
                .map_err(backend)?;
            let rows: Vec<(String, String, u32)> = stmt
                .query_map(params![self.name, now, (max * 2) as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend)?;
            for (id, body, count) in rows {
                if let Some((dlq, max_receives)) = &self.dead_letter
                    && count >= *max_receives
                {
                    conn.execute("UPDATE messages SET queue = ?1, receive_count = 0, receipt = NULL, visible_at = ?2 WHERE id = ?3", params![dlq, now, id])
                            .map_err(backend)?;
                    continue;
                }
                if out.len() == max {
                    break;
                }
                let receipt = format!("{id}:{}", count + 1);
                conn.prepare_cached(
                    "UPDATE messages SET receive_count = receive_count + 1, receipt = ?1, visible_at = ?2 WHERE id = ?3",
                )
                .and_then(|mut st| st.execute(params![receipt, now + visibility.as_millis() as i64, id]))
                .map_err(backend)?;
                out.push(QueueMessage { id, body, receipt, receive_count: count + 1 });
            }
            Ok(out)
        })();
        match &result {
            Ok(_) => conn.execute_batch("COMMIT").map_err(backend)?,
            Err(_) => {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
        result
    }

    /// The bodies of every message the queue holds (visible or not): what a restarted process
    /// compares with the table to find work whose message was never sent.
    pub fn bodies(&self) -> StoreResult<Vec<String>> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = conn.prepare("SELECT body FROM messages WHERE queue = ?1").map_err(backend)?;
        stmt.query_map(params![self.name], |r| r.get::<_, String>(0))
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)
    }

    /// How many messages the queue holds (visible or not).
    pub fn depth(&self) -> StoreResult<u64> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.query_row("SELECT COUNT(*) FROM messages WHERE queue = ?1", params![self.name], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(backend)
    }
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send(&self, body: &str, delay: Duration) -> StoreResult<String> {
        check_delay(delay)?;
        let now = self.now_ms();
        let id = iron_domain::Id::generate(iron_domain::IdKind::Referral, now).as_str()[4..].to_owned();
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.prepare_cached("INSERT INTO messages (id, queue, body, visible_at, sent_at) VALUES (?1, ?2, ?3, ?4, ?5)")
            .and_then(|mut st| st.execute(params![id, self.name, body, now + delay.as_millis() as i64, now]))
            .map_err(backend)?;
        drop(conn);
        if delay.is_zero() {
            self.sent.notify_waiters();
        }
        Ok(id)
    }

    async fn receive(&self, max: usize, visibility: Duration, wait: Duration) -> StoreResult<Vec<QueueMessage>> {
        if !(1..=10).contains(&max) {
            return Err(StoreError::Invalid(format!("max must be 1..=10, not {max}")));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a send between the look and the wait still wakes us.
            let sent = self.sent.notified();
            let got = self.receive_now(max, visibility)?;
            if !got.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(got);
            }
            // A send wakes us at once; delayed messages and visibility timeouts come due on
            // their own, so look again at least every 50 ms.
            let next = deadline.min(tokio::time::Instant::now() + Duration::from_millis(50));
            tokio::select! {
                _ = sent => {}
                _ = tokio::time::sleep_until(next) => {}
            }
        }
    }

    async fn delete(&self, receipt: &str) -> StoreResult<()> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let n = conn
            .prepare_cached("DELETE FROM messages WHERE id = ?1 AND receipt = ?2 AND queue = ?3")
            .and_then(|mut st| st.execute(params![message_id(receipt), receipt, self.name]))
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Invalid("the receipt handle is stale or unknown".into()));
        }
        Ok(())
    }

    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> StoreResult<()> {
        let visible_at = self.now_ms() + timeout.as_millis() as i64;
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let n = conn
            .prepare_cached("UPDATE messages SET visible_at = ?1 WHERE id = ?2 AND receipt = ?3 AND queue = ?4")
            .and_then(|mut st| st.execute(params![visible_at, message_id(receipt), receipt, self.name]))
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Invalid("the receipt handle is stale or unknown".into()));
        }
        Ok(())
    }
}
