//! Storage for Iron Metrics: the ports the domain talks to, their embedded adapters, the
//! single-table key shapes and the tenant-scoped repositories built on them.
//!
//! Ports: [`TableStore`] (DynamoDB single-table semantics), [`Queue`] (SQS semantics),
//! [`BlobStore`] (S3 semantics),
//! [`KeyCipher`] (KMS envelope encryption), [`Clock`], [`Scheduler`] (EventBridge rules) and
//! [`EventBus`] (EventBridge `PutEvents`).
//! The AWS adapters live in the `iron-aws` crate; the embedded ones here, behind the `embedded`
//! feature (SQLite), so Lambda binaries don't link them. The conformance suites every adapter
//! passes are behind `testing`.

pub mod blob;
pub mod bus;
pub mod cipher;
pub mod clock;
#[cfg(feature = "testing")]
pub mod conformance;
pub mod item;
pub mod keys;
pub mod metered;
pub mod queue;
pub mod repo;
pub mod scheduler;
#[cfg(feature = "embedded")]
pub mod sqlite;
#[cfg(feature = "embedded")]
pub mod sqlite_queue;
pub mod table;
pub mod tenant;

#[cfg(feature = "embedded")]
pub use blob::FileBlobs;
pub use blob::{BlobStore, BlobWriter, Presigned};
pub use bus::{EventBus, InProcessBus};
pub use cipher::{Envelope, KeyCipher, LocalKeyCipher};
pub use clock::{Clock, ManualClock, SystemClock};
pub use item::{Cursor, Filter, Index, Item, Key, Page, Query, SkCondition};
pub use queue::{Queue, QueueMessage};
pub use scheduler::{InProcessScheduler, ScheduleExpression, ScheduleTarget, Scheduler};
#[cfg(feature = "embedded")]
pub use sqlite::SqliteTable;
#[cfg(feature = "embedded")]
pub use sqlite_queue::SqliteQueue;
pub use table::{Condition, StoreError, TableStore, TxOp};
#[cfg(feature = "operator")]
pub use tenant::OperatorScope;
pub use tenant::{TenantDb, TenantScope};
