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

#[tokio::test]
async fn file_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let blobs = Arc::new(iron_store::FileBlobs::open(&dir.path().join("files"), clock.clone()).unwrap());
    blobs.set_base_url("http://127.0.0.1:8080");
    use iron_store::Clock;
    iron_store::conformance::blob_store(blobs.clone(), clock.now(), "conformance").await;
}

/// The local URLs: signed over method, key, expiry and file name; refused once expired or
/// changed in any part; the signing key survives a restart.
#[tokio::test]
async fn file_blob_urls_expire_and_cannot_be_altered() {
    use iron_store::Clock;
    use iron_store::blob::{BlobStore, UrlCheck};
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let blobs = iron_store::FileBlobs::open(&dir.path().join("files"), clock.clone()).unwrap();
    blobs.set_base_url("http://127.0.0.1:9/");
    let expires = clock.now() + chrono::Duration::minutes(15);
    let url = blobs.download_url("b/biz_1/exp_1/athletes.csv", "athletes.csv", expires).await.unwrap().url;
    assert!(url.starts_with("http://127.0.0.1:9/files/b/biz_1/exp_1/athletes.csv?expires="), "{url}");
    let sig = url.split("signature=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let key = "b/biz_1/exp_1/athletes.csv";
    let e = expires.timestamp();
    assert_eq!(blobs.check("GET", key, e, "athletes.csv", &sig), UrlCheck::Valid);
    assert_eq!(blobs.check("PUT", key, e, "athletes.csv", &sig), UrlCheck::BadSignature);
    assert_eq!(blobs.check("GET", "b/biz_2/exp_1/athletes.csv", e, "athletes.csv", &sig), UrlCheck::BadSignature);
    assert_eq!(blobs.check("GET", key, e + 3600, "athletes.csv", &sig), UrlCheck::BadSignature);
    assert_eq!(blobs.check("GET", key, e, "other.csv", &sig), UrlCheck::BadSignature);
    assert_eq!(blobs.check("GET", key, e, "athletes.csv", "zz"), UrlCheck::BadSignature);
    clock.advance(chrono::Duration::minutes(15));
    assert_eq!(blobs.check("GET", key, e, "athletes.csv", &sig), UrlCheck::Expired);
    let reopened = iron_store::FileBlobs::open(&dir.path().join("files"), clock.clone()).unwrap();
    assert_eq!(reopened.check("GET", key, e, "athletes.csv", &sig), UrlCheck::Expired, "same key after a restart");
}
