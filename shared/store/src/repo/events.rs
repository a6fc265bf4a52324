//! The outbox: events are written in the same transaction as the change that caused them, and
//! stay in a sparse "pending" index until the dispatcher has fanned them out.

use super::encode;
use crate::keys;
use crate::table::{Condition, TxOp};
use crate::tenant::TenantScope;
use iron_domain::Event;

/// The write that records `event` as pending, to add to the transaction of its change.
pub fn outbox_op(scope: &TenantScope, event: &Event) -> TxOp {
    let mut item = keys::item_of("event", encode(event), keys::event(scope, &event.id));
    item.insert("fannedOut".into(), serde_json::Value::Bool(false));
    let item = keys::with_gsi2(item, keys::outbox_pending(event.created_at, &event.id));
    TxOp::Put { item, condition: Condition::NotExists }
}
