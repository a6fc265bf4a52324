//! Webhooks and their signing secrets. Secrets are stored only envelope-encrypted (KMS on AWS,
//! the local master key locally), bound to the business and webhook by the encryption context.

use super::{RepoError, RepoResult, decode, encode};
use crate::cipher::{EncryptionContext, Envelope, KeyCipher};
use crate::item::{Index, Query};
use crate::keys;
use crate::table::{Condition, StoreError};
use crate::tenant::{TenantDb, TenantScope};
use chrono::{DateTime, Utc};
use iron_domain::{Id, Webhook};
use serde::{Deserialize, Serialize};

/// The most webhooks one business may register.
pub const MAX_PER_BUSINESS: usize = 50;

/// A webhook with its encrypted secrets, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    pub secret: Envelope,
    /// The secret before the last rotation, still signing until `previous_until`.
    pub previous_secret: Option<Envelope>,
    pub previous_until: Option<DateTime<Utc>>,
}

pub fn context(webhook: &Webhook) -> EncryptionContext {
    [
        ("businessId".to_owned(), webhook.business_id.to_string()),
        ("webhookId".to_owned(), webhook.id.to_string()),
        ("purpose".to_owned(), "webhook-signing".to_owned()),
    ]
    .into()
}

pub async fn seal(cipher: &dyn KeyCipher, webhook: &Webhook, secret: &str) -> RepoResult<Envelope> {
    Ok(cipher.encrypt(secret.as_bytes(), &context(webhook)).await?)
}

pub async fn open(cipher: &dyn KeyCipher, webhook: &Webhook, envelope: &Envelope) -> RepoResult<String> {
    let bytes = cipher.decrypt(envelope, &context(webhook)).await?;
    String::from_utf8(bytes).map_err(|_| RepoError::Corrupt("webhook secret is not text".into()))
}

fn item(scope: &TenantScope, stored: &StoredWebhook) -> crate::Item {
    keys::item_of("webhook", encode(stored), keys::webhook(scope, &stored.webhook.id))
}

pub async fn create(db: TenantDb<'_>, stored: &StoredWebhook) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    if list(db).await?.len() >= MAX_PER_BUSINESS {
        return Err(RepoError::Conflict {
            field: "webhooks".into(),
            message: format!("a business may register at most {MAX_PER_BUSINESS} webhooks"),
        });
    }
    store.put(item(scope, stored), Condition::NotExists).await?;
    Ok(())
}

pub async fn get(db: TenantDb<'_>, id: &Id) -> RepoResult<StoredWebhook> {
    let (store, scope) = (db.store(), db.scope());
    decode(store.get(&keys::webhook(scope, id)).await?.ok_or(RepoError::NotFound)?)
}

pub async fn list(db: TenantDb<'_>) -> RepoResult<Vec<StoredWebhook>> {
    let (store, scope) = (db.store(), db.scope());
    let page = store.query(Query::new(Index::Table, keys::webhooks_partition(scope)).limit(1000)).await?;
    page.items.into_iter().map(decode).collect()
}

/// Replaces `before` with `after` unless someone changed it meanwhile (409-worthy `Conflict`).
pub async fn update(db: TenantDb<'_>, before: &StoredWebhook, after: &StoredWebhook) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let seen = Condition::AttrEquals("updatedAt".into(), encode(&before.webhook.updated_at));
    store.put(item(scope, after), seen).await.map_err(|e| match e {
        StoreError::ConditionFailed => {
            RepoError::Conflict { field: "updatedAt".into(), message: "the webhook changed meanwhile; retry".into() }
        }
        other => other.into(),
    })
}

pub async fn delete(db: TenantDb<'_>, id: &Id) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    store.delete(&keys::webhook(scope, id), Condition::Exists).await.map_err(|e| match e {
        StoreError::ConditionFailed => RepoError::NotFound,
        other => other.into(),
    })
}

/// The secrets that sign a delivery now (`whsec_…` text): the current one, and the previous one
/// during its overlap after a rotation.
pub async fn signing_secrets(
    cipher: &dyn KeyCipher,
    stored: &StoredWebhook,
    now: DateTime<Utc>,
) -> RepoResult<Vec<String>> {
    let mut out = vec![open(cipher, &stored.webhook, &stored.secret).await?];
    if let (Some(prev), Some(until)) = (&stored.previous_secret, stored.previous_until)
        && now < until
    {
        out.push(open(cipher, &stored.webhook, prev).await?);
    }
    Ok(out)
}
