//! What AWS runs around the API, here in-process: the outbox fan-out and webhook delivery.
//! Every half second: fan out pending events, then attempt every due delivery, each in its own
//! task so a slow receiver holds up only its own deliveries. All state is in the database, so a
//! killed process resumes where it stopped (an attempt in flight at the kill is made again:
//! at-least-once, with the same webhook-id).

use iron_dispatch::Dispatcher;
use iron_store::repo::deliveries;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub async fn run(dispatcher: Arc<Dispatcher>) {
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    loop {
        let now = dispatcher.clock.now();
        if let Err(e) = deliveries::fan_out(dispatcher.store.as_ref(), now, 100).await {
            tracing::warn!(error = %e, "outbox fan-out failed");
        }
        match deliveries::due(dispatcher.store.as_ref(), now, 100).await {
            Err(e) => tracing::warn!(error = %e, "due sweep failed"),
            Ok(due) => {
                for r in due {
                    let id = r.delivery_id.to_string();
                    if !in_flight.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone()) {
                        continue;
                    }
                    let (dispatcher, in_flight) = (dispatcher.clone(), in_flight.clone());
                    tokio::spawn(async move {
                        if let Err(e) = dispatcher.attempt(&r).await {
                            tracing::warn!(error = %e, delivery = %r.delivery_id, "delivery attempt failed");
                        }
                        in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                    });
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
