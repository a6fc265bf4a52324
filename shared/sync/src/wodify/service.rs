//! What the integrations API and the sync worker do with a Wodify connection, over the ports:
//! connect (validate the key with one light call, probe each entity's route, seal the key),
//! and one queued step of a run (open the key, run the engine until the budget is spent).
//!
//! The key is plaintext only inside [`connect`] (from the request) and [`run_step`] (opened
//! for the step's connector): it is a [`SecretString`] throughout, sealed under the business
//! and gym ids as the encryption context, and only its last four characters are kept in the
//! clear (the fingerprint).

use super::connector::{Connector, ConnectorConfig, ConnectorError, Search};
use super::endpoints::ENDPOINTS;
use super::run::{self, Engine, Step};
use chrono::{DateTime, NaiveDate, Utc};
use iron_domain::Id;
use iron_domain::sync::{
    Availability, Connection, ConnectionStatus, DEFAULT_RECONCILE_DAYS, DEFAULT_SYNC_WINDOW_DAYS, Entity, Gym,
    Provider, Run, RunStatus,
};
use iron_store::cipher::EncryptionContext;
use iron_store::repo::RepoError;
use iron_store::repo::sync::{self as repo, StoredConnection};
use iron_store::{Clock, EventBus, KeyCipher, TenantDb};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

/// How long a connect's checks may take in all (a person is waiting, behind a gateway's 30 s).
pub const PROBE_BUDGET: std::time::Duration = std::time::Duration::from_secs(8);

/// The sync window a connection may ask for: 30 days to 24 months.
pub const SYNC_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 30..=730;
/// The weekly reconciliation's reach: 30 to 90 days.
pub const RECONCILE_DAYS: std::ops::RangeInclusive<u32> = 30..=90;

/// The `purpose` of a provider key's encryption context (the IAM policies condition on it).
pub const KEY_PURPOSE: &str = "integration-key";

/// The encryption context of a connection's key: a ciphertext moved to another business or
/// gym does not open.
pub fn key_context(business: &Id, gym: &Id) -> EncryptionContext {
    EncryptionContext::from([
        ("businessId".to_string(), business.to_string()),
        ("gymId".to_string(), gym.to_string()),
        ("provider".to_string(), Provider::Wodify.as_str().to_string()),
        ("purpose".to_string(), KEY_PURPOSE.to_string()),
    ])
}

/// What may be shown of a key: `…` and its last four characters.
pub fn fingerprint(key: &SecretString) -> String {
    let chars: Vec<char> = key.expose_secret().chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

/// The options of a connect.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub sync_window_days: Option<u32>,
    pub reconcile_days: Option<u32>,
    pub currency: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Wodify refused the key (its reason, sanitised): a 422.
    #[error("{0}")]
    KeyRefused(String),
    /// Wodify could not be asked (down, slow, malformed): a 502, nothing saved.
    #[error("{0}")]
    Provider(String),
    #[error("the key could not be sealed: {0}")]
    Cipher(String),
    #[error(transparent)]
    Store(#[from] RepoError),
}

/// Asks Wodify whether the key works (one page of locations, the lightest route), then each
/// other entity's route once: a 403 there is the gym's plan, saved as unavailable.
pub async fn probe(connector: &Connector, today: NaiveDate) -> Result<BTreeMap<Entity, Availability>, ConnectError> {
    let locations = ENDPOINTS[0];
    match connector.page(locations.path, locations.records, None, "id", 1).await {
        Ok(_) => {}
        Err(ConnectorError::Forbidden { status, message }) => {
            return Err(ConnectError::KeyRefused(format!(
                "Wodify refused the API key ({status} {message}): check it in Wodify Core → Digital Presence → Web Integrations → API Keys, and that your Wodify plan includes API access"
            )));
        }
        Err(e @ ConnectorError::Application { .. }) => return Err(ConnectError::KeyRefused(e.to_string())),
        Err(e) => return Err(ConnectError::Provider(format!("{e}: nothing was saved, try again later"))),
    }
    let mut availability = BTreeMap::from([(Entity::Locations, Availability { available: true, reason: None })]);
    let today = today.to_string();
    for ep in &ENDPOINTS[1..] {
        // Dated routes are searched over one day: the answer is small.
        let search = ep.date_field.map(|f| Search::new().gte(f, &today).lt(f, &today));
        let answer = connector.page(ep.path, ep.records, search.as_ref(), "id", 1).await;
        let a = match answer {
            Ok(_) => Availability { available: true, reason: None },
            Err(ConnectorError::Forbidden { status, .. }) => Availability {
                available: false,
                reason: Some(format!(
                    "your Wodify plan does not allow the API to read {} ({status} on /{})",
                    ep.entity.as_str(),
                    ep.path
                )),
            },
            Err(ConnectorError::UnknownRoute { path }) => {
                Availability { available: false, reason: Some(format!("Wodify has no route {path} for this gym")) }
            }
            Err(e) => return Err(ConnectError::Provider(format!("{e}: nothing was saved, try again later"))),
        };
        availability.insert(ep.entity, a);
    }
    Ok(availability)
}

/// What a connect did.
#[derive(Debug)]
pub struct Connected {
    pub connection: StoredConnection,
    /// A key replaced an earlier one (a running sync goes on; its next step uses the new key).
    pub rotated: bool,
}

/// Validates `key`, probes the entities, seals the key and saves the connection of `gym`
/// (creating it, or rotating its key: the watermark, runs and data stay).
pub async fn connect(
    db: TenantDb<'_>,
    cipher: &dyn KeyCipher,
    clock: &dyn Clock,
    config: &ConnectorConfig,
    gym: &Gym,
    key: SecretString,
    options: &ConnectOptions,
) -> Result<Connected, ConnectError> {
    let connector = Connector::new(config, key.clone()).map_err(|e| ConnectError::Provider(e.to_string()))?;
    let checks = probe(&connector, crate::now_ms(clock).date_naive());
    let availability = tokio::time::timeout(PROBE_BUDGET, checks).await.map_err(|_| {
        ConnectError::Provider(format!(
            "Wodify did not answer the key's checks within {} s (slow, or throttling this key): nothing was saved, try again later",
            PROBE_BUDGET.as_secs()
        ))
    })??;
    let envelope = cipher
        .encrypt(key.expose_secret().as_bytes(), &key_context(db.business_id(), &gym.id))
        .await
        .map_err(|e| ConnectError::Cipher(e.to_string()))?;
    let fingerprint = fingerprint(&key);
    drop(key);
    for _ in 0..5 {
        let now = crate::now_ms(clock);
        let existing = repo::get_connection(db, Provider::Wodify, &gym.id).await?;
        let rotated = existing.as_ref().is_some_and(|s| s.envelope().is_some());
        let mut stored = existing.unwrap_or_else(|| StoredConnection::new(new_connection(gym, now)));
        let c = &mut stored.connection;
        c.key_fingerprint = Some(fingerprint.clone());
        c.key_set_at = Some(now);
        c.key_version += 1;
        c.availability = availability.clone();
        if let Some(days) = options.sync_window_days {
            c.sync_window_days = days;
        }
        if let Some(days) = options.reconcile_days {
            c.reconcile_days = days;
        }
        if let Some(currency) = &options.currency {
            c.currency = currency.clone();
        }
        // A new key mends a connection a refused key broke; a pause stays a pause.
        if matches!(c.status, ConnectionStatus::Error | ConnectionStatus::Disconnected) {
            c.status = ConnectionStatus::Connected;
            c.consecutive_failures = 0;
        }
        c.updated_at = now;
        stored.set_envelope(envelope.clone());
        match repo::save_connection(db, &mut stored).await {
            Ok(()) => return Ok(Connected { connection: stored, rotated }),
            // A run's step wrote it meanwhile: read it again and apply the key to that.
            Err(RepoError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ConnectError::Store(RepoError::Conflict {
        field: "gymId".into(),
        message: "the connection kept changing: try again".into(),
    }))
}

fn new_connection(gym: &Gym, now: DateTime<Utc>) -> Connection {
    Connection {
        provider: Provider::Wodify,
        gym_id: gym.id.clone(),
        status: ConnectionStatus::Connected,
        key_fingerprint: None,
        key_set_at: None,
        key_version: 0,
        sync_window_days: DEFAULT_SYNC_WINDOW_DAYS,
        reconcile_days: DEFAULT_RECONCILE_DAYS,
        currency: gym.currency.clone(),
        availability: BTreeMap::new(),
        watermark: None,
        backfilled: false,
        last_success_at: None,
        last_run_at: None,
        last_error: None,
        consecutive_failures: 0,
        current_run: None,
        lease_until: None,
        created_at: now,
        updated_at: now,
        version: 0,
    }
}

/// A queued step of a run: the message the sync queue carries (both ids, always).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunJob {
    pub business_id: Id,
    pub gym_id: Id,
    pub run_id: Id,
}

impl RunJob {
    pub fn of(db: TenantDb<'_>, run: &Run) -> RunJob {
        RunJob { business_id: db.business_id().clone(), gym_id: run.gym_id.clone(), run_id: run.id.clone() }
    }
    pub fn to_message(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What a step came to.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// The run ended (or was already over, or its gym or connection is gone): drop the message.
    Done(Option<Box<Run>>),
    /// The budget ran out first: queue the job again.
    More,
}

/// The ports a step uses.
pub struct StepEnv<'a> {
    pub db: TenantDb<'a>,
    pub cipher: &'a dyn KeyCipher,
    pub clock: &'a dyn Clock,
    pub bus: Option<&'a dyn EventBus>,
    pub config: &'a ConnectorConfig,
}

/// Runs a queued run until it ends or `deadline` passes. `Err` (the table or the cipher
/// unavailable) leaves the message to come back: the run resumes at its checkpoint.
pub async fn run_step(env: &StepEnv<'_>, job: &RunJob, deadline: Instant) -> Result<StepOutcome, String> {
    let db = env.db;
    let gym = match repo::get_gym(db, &job.gym_id).await {
        Err(RepoError::NotFound) => return Ok(StepOutcome::Done(None)),
        other => other.map_err(|e| e.to_string())?,
    };
    let mut run = match repo::get_run(db, &gym.id, &job.run_id).await {
        Err(RepoError::NotFound) => return Ok(StepOutcome::Done(None)),
        other => other.map_err(|e| e.to_string())?,
    };
    if run.status.is_final() {
        return Ok(StepOutcome::Done(Some(Box::new(run))));
    }
    let Some(mut conn) = repo::get_connection(db, Provider::Wodify, &gym.id).await.map_err(|e| e.to_string())? else {
        return abandon(env, run, "the gym's Wodify connection was removed").await;
    };
    if !run::renew(db, env.clock, &mut conn, &run.id).await.map_err(|e| e.to_string())? {
        let why = match conn.connection.status {
            ConnectionStatus::Paused => "the connection was paused",
            ConnectionStatus::Disconnected => "the connection was disconnected",
            _ => "another run of this gym took over (this one's claim had lapsed)",
        };
        return abandon(env, run, why).await;
    }
    let Some(envelope) = conn.envelope().cloned() else {
        return abandon(env, run, "the connection has no key").await;
    };
    let plain = env
        .cipher
        .decrypt(&envelope, &key_context(db.business_id(), &gym.id))
        .await
        .map_err(|e| format!("the key could not be opened: {e}"))?;
    let key = SecretString::from(String::from_utf8(plain).map_err(|_| "the stored key is not text".to_string())?);
    let connector = Connector::new(env.config, key).map_err(|e| e.to_string())?;
    let engine = Engine { db, clock: env.clock, connector: &connector, bus: env.bus };
    match engine.step(&gym, &mut conn, &mut run, deadline).await.map_err(|e| e.to_string())? {
        Step::Finished(_) => Ok(StepOutcome::Done(Some(Box::new(run)))),
        Step::Continue => Ok(StepOutcome::More),
    }
}

/// Ends a run that can no longer go on (its claim or connection gone), failed with `why`.
async fn abandon(env: &StepEnv<'_>, mut run: Run, why: &str) -> Result<StepOutcome, String> {
    run.status = RunStatus::Failed;
    run.error = Some(format!("stopped: {why}"));
    run.finished_at = Some(crate::now_ms(env.clock));
    repo::save_run(env.db, &mut run).await.map_err(|e| e.to_string())?;
    Ok(StepOutcome::Done(Some(Box::new(run))))
}
