//! Events: what happened in a business, recorded in the same transaction as the change that
//! caused it (the transactional outbox), and later delivered to the business's webhooks.

use crate::id::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The catalogue of event types, with what each means.
pub const EVENT_TYPES: &[(&str, &str)] = &[
    ("member.created", "A member (athlete) was created"),
    ("member.checked_in", "A member checked in at a location"),
    ("workout.completed", "A member completed a workout"),
    ("workout.updated", "A workout was corrected"),
    ("workout.deleted", "A workout was deleted"),
    ("test.completed", "A fitness test was recorded"),
    ("wod.generated", "A personalised workout of the day was generated"),
    ("injury.reported", "A member reported an injury"),
    ("goal.achieved", "A member achieved a goal"),
    ("subscription.expiring", "A membership is about to expire"),
    ("payment.recorded", "A member's payment was recorded (succeeded or failed)"),
    ("challenge.joined", "A member joined a challenge"),
    ("challenge.entry", "A member logged a challenge entry"),
    ("wodify.sync.started", "A Wodify sync run of a gym started"),
    ("wodify.sync.entity.completed", "A Wodify sync run finished pulling one entity (with its counts)"),
    ("wodify.sync.failed", "A Wodify sync run failed (the reason, sanitised)"),
    ("webhook.test", "A test event sent on request"),
];

pub fn is_known_type(name: &str) -> bool {
    EVENT_TYPES.iter().any(|(t, _)| *t == name)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: Id,
    #[serde(rename = "type")]
    pub event_type: String,
    pub business_id: Id,
    pub created_at: DateTime<Utc>,
    /// The payload, as documented per type.
    pub data: serde_json::Value,
}

impl Event {
    pub fn new(event_type: &str, business_id: &Id, now: DateTime<Utc>, data: serde_json::Value) -> Event {
        debug_assert!(is_known_type(event_type), "unknown event type {event_type}");
        Event {
            id: Id::generate(crate::IdKind::Event, now.timestamp_millis()),
            event_type: event_type.into(),
            business_id: business_id.clone(),
            created_at: now,
            data,
        }
    }
}
