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

/// Queues records for a background task that writes up to 100 per transaction.
pub struct BatchedAudit {
    tx: mpsc::Sender<AuditRecord>,
}

impl BatchedAudit {
    /// Starts the writer task (needs a tokio runtime).
    pub fn start(store: Arc<dyn TableStore>, retention: Duration) -> BatchedAudit {
        let (tx, mut rx) = mpsc::channel::<AuditRecord>(10_000);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(100);
            while rx.recv_many(&mut batch, 100).await > 0 {
                if let Err(e) = audit::write(store.as_ref(), &batch, retention).await {
                    tracing::error!(error = %e, records = batch.len(), "audit records not written");
                }
                batch.clear();
            }
        });
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
