//! Conformance of the embedded queue, key cipher and scheduler.

use iron_store::{InProcessScheduler, LocalKeyCipher, ManualClock, Queue, SqliteQueue, SystemClock};
use std::sync::Arc;

async fn make_queue(_clock: Arc<ManualClock>) -> (Arc<dyn Queue>, Arc<dyn Queue>) {
    let path = tempfile::tempdir().unwrap().keep().join("queue.db");
    let main = SqliteQueue::open(&path, "deliveries", Arc::new(SystemClock)).unwrap();
    let dlq = main.sibling("deliveries-dlq");
    (Arc::new(main.with_dead_letter("deliveries-dlq", 2)), Arc::new(dlq))
}

iron_store::queue_conformance!(make_queue);

#[tokio::test]
async fn local_key_cipher() {
    let path = tempfile::tempdir().unwrap().keep().join("master.key");
    let cipher = LocalKeyCipher::load_or_create(&path).unwrap();
    iron_store::conformance::key_cipher(Arc::new(cipher)).await;
    // The master key persists: a second load decrypts what the first encrypted.
    let ctx = [("businessId".to_owned(), "biz_A".to_owned())].into();
    let first = LocalKeyCipher::load_or_create(&path).unwrap();
    let sealed = iron_store::KeyCipher::encrypt(&first, b"secret", &ctx).await.unwrap();
    let second = LocalKeyCipher::load_or_create(&path).unwrap();
    assert_eq!(iron_store::KeyCipher::decrypt(&second, &sealed, &ctx).await.unwrap(), b"secret");
}

#[tokio::test]
async fn in_process_scheduler() {
    let clock = Arc::new(SystemClock);
    let scheduler = Arc::new(InProcessScheduler::new(clock));
    iron_store::conformance::scheduler(scheduler.clone()).await;
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T04:00:20Z").unwrap().with_timezone(&chrono::Utc);
    assert_eq!(scheduler.due(at).len(), 1, "the nightly job fires at 04:00");
    assert!(scheduler.due(at + chrono::Duration::minutes(1)).is_empty());
}
