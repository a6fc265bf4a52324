//! The event-bus port (EventBridge `PutEvents` on AWS): where background work announces what it
//! did for other systems to route (`wodify.sync.*`). Businesses' webhooks are not fed from here
//! (they come from the table's outbox, committed with the change): the bus is the platform's
//! feed, published after the commit.
//!
//! The in-process adapter is iron-local's embedded bus: subscribers get every event published
//! after they subscribed, and the last [`InProcessBus::KEPT`] are kept for inspection.

use crate::table::StoreResult;
use async_trait::async_trait;
use iron_domain::Event;
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::broadcast;

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Publishes events (at most ten per call on EventBridge: adapters split larger batches).
    async fn publish(&self, events: &[Event]) -> StoreResult<()>;
}

/// The embedded bus.
pub struct InProcessBus {
    tx: broadcast::Sender<Event>,
    recent: Mutex<VecDeque<Event>>,
}

impl InProcessBus {
    /// How many recent events are kept.
    pub const KEPT: usize = 1000;

    pub fn new() -> InProcessBus {
        InProcessBus { tx: broadcast::channel(256).0, recent: Mutex::new(VecDeque::new()) }
    }

    /// Every event published from now on (a subscriber that lags loses the oldest).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// The last events published, oldest first.
    pub fn recent(&self) -> Vec<Event> {
        self.recent.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
    }
}

impl Default for InProcessBus {
    fn default() -> InProcessBus {
        InProcessBus::new()
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, events: &[Event]) -> StoreResult<()> {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        for event in events {
            tracing::info!(event = %event.event_type, id = %event.id, business = %event.business_id, "bus event");
            // No subscriber is not an error: the event is still kept.
            let _ = self.tx.send(event.clone());
            recent.push_back(event.clone());
            if recent.len() > Self::KEPT {
                recent.pop_front();
            }
        }
        Ok(())
    }
}
