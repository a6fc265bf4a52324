//! Storage for Iron Metrics: the ports the domain talks to, their embedded adapters, the
//! single-table key shapes and the tenant-scoped repositories built on them.
//!
//! Ports: [`TableStore`] (DynamoDB single-table semantics), [`Queue`] (SQS semantics),
//! [`KeyCipher`] (KMS envelope encryption), [`Clock`] and [`Scheduler`] (EventBridge rules).
//! The AWS adapters live in the `iron-aws` crate; the embedded ones here.

pub mod cipher;
pub mod clock;
pub mod conformance;
pub mod item;
pub mod keys;
pub mod queue;
pub mod repo;
pub mod scheduler;
pub mod sqlite;
pub mod table;
pub mod tenant;

pub use cipher::{Envelope, KeyCipher, LocalKeyCipher};
pub use clock::{Clock, ManualClock, SystemClock};
pub use item::{Cursor, Filter, Index, Item, Key, Page, Query, SkCondition};
pub use queue::{Queue, QueueMessage, SqliteQueue};
pub use scheduler::{InProcessScheduler, ScheduleExpression, ScheduleTarget, Scheduler};
pub use sqlite::SqliteTable;
pub use table::{Condition, StoreError, TableStore, TxOp};
pub use tenant::TenantScope;
