//! Where audit records go. Locally a background writer batches them into transactions, so a
//! request never waits for its record; on Lambda the record is written before the invocation
//! ends (a frozen sandbox would otherwise hold it indefinitely), costing one PutItem.

use async_trait::async_trait;
use chrono::Duration;
use iron_domain::AuditRecord;
use iron_store::TableStore;
use iron_store::repo::audit;
use std::sync::Arc;
use tokio::sync::mpsc;

#[async_trait]
pub trait AuditSink: Send + Sync + 'static {
    async fn record(&self, record: AuditRecord);
}

/// Audit switched off (benchmarks only).
pub struct NoAudit;

#[async_trait]
impl AuditSink for NoAudit {
    async fn record(&self, _: AuditRecord) {}
}

/// Writes each record as the request finishes.
pub struct InlineAudit {
    store: Arc<dyn TableStore>,
    retention: Duration,
}

impl InlineAudit {
    pub fn new(store: Arc<dyn TableStore>, retention: Duration) -> InlineAudit {
        InlineAudit { store, retention }
    }
}

#[async_trait]
impl AuditSink for InlineAudit {
    async fn record(&self, record: AuditRecord) {
        if let Err(e) = audit::write(self.store.as_ref(), std::slice::from_ref(&record), self.retention).await {
            tracing::error!(error = %e, request_id = %record.request_id, "audit record not written");
        }
    }
}

const BATCH: usize = 100;
const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(50);

/// Queues records for a background task that writes up to 100 per transaction.
pub struct BatchedAudit {
    tx: mpsc::Sender<AuditRecord>,
}

impl BatchedAudit {
    /// Starts the writer on a thread of its own: the embedded store does its work synchronously,
    /// and a commit must not stall the runtime that serves requests.
    pub fn start(store: Arc<dyn TableStore>, retention: Duration) -> BatchedAudit {
        let (tx, mut rx) = mpsc::channel::<AuditRecord>(10_000);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime for the audit writer");
        let writer = async move {
            let mut batch = Vec::with_capacity(BATCH);
            // Gather for up to BATCH_WINDOW after the first record: one commit carries many
            // records, which keeps the write cost per request small and lets readers keep their
            // page cache between commits.
            while let Some(first) = rx.recv().await {
                batch.push(first);
                let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
                while batch.len() < BATCH {
                    match tokio::time::timeout_at(deadline, rx.recv_many(&mut batch, BATCH)).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                if let Err(e) = audit::write(store.as_ref(), &batch, retention).await {
                    tracing::error!(error = %e, records = batch.len(), "audit records not written");
                }
                batch.clear();
            }
        };
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || runtime.block_on(writer))
            .expect("spawn the audit writer thread");
        BatchedAudit { tx }
    }
}

#[async_trait]
impl AuditSink for BatchedAudit {
    async fn record(&self, record: AuditRecord) {
        // Back-pressure rather than loss when the writer falls behind.
        if self.tx.send(record).await.is_err() {
            tracing::error!("audit writer has stopped");
        }
    }
}
