//! One sync run of one gym, in order — locations, programs → clients → memberships →
//! attendance → invoices → transactions — a page at a time: each page's raw records and
//! canonical rows are written, then the run's checkpoint (entity, next page) is saved, so a run
//! that dies resumes from its last completed page and redoes at most one (writes are
//! idempotent). A step goes until its deadline and answers whether the run goes on.

use super::connector::{Connector, ConnectorError, Search};
use super::endpoints::{CANONICAL_KINDS, ENDPOINTS, Endpoint};
use super::transform;
use chrono::{DateTime, NaiveDate, Utc};
use iron_domain::athlete::apply_fields;
use iron_domain::sync::{
    Availability, CanonicalSet, Connection, ConnectionStatus, Entity, EntityCounts, Gym, Month, MonthlyMetrics,
    Provider, Run, RunMode, RunStatus, SyncError, compute_month,
};
use iron_domain::{Athlete, AthleteSource, Event, Id};
use iron_store::repo::sync::{self as repo, CanonicalRow, RawIn, StoredConnection};
use iron_store::repo::{RepoError, athletes};
use iron_store::{Clock, EventBus, TenantDb};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Instant;

const PROVIDER: Provider = Provider::Wodify;

/// What stopped a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error(transparent)]
    Store(#[from] RepoError),
}

/// After a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The run ended (succeeded or failed): nothing more to do.
    Finished(RunStatus),
    /// The deadline came first: run the next step.
    Continue,
}

pub struct Engine<'a> {
    pub db: TenantDb<'a>,
    pub clock: &'a dyn Clock,
    pub connector: &'a Connector,
    /// Where the run's events are published once committed (EventBridge on AWS, the embedded
    /// bus locally). The table's outbox holds them durably either way (webhooks come from it).
    pub bus: Option<&'a dyn EventBus>,
}

fn event(db: TenantDb<'_>, kind: &str, now: DateTime<Utc>, data: Value) -> Event {
    Event::new(kind, db.business_id(), now, data)
}

/// A provider failure in words fit for the status and the logs.
pub fn explain(e: &ConnectorError) -> String {
    match e {
        ConnectorError::Forbidden { status, .. } => format!(
            "Wodify refused the API key ({status} Forbidden): check it in Wodify Core → Digital Presence → Web Integrations → API Keys and connect again"
        ),
        other => other.to_string(),
    }
}

impl Engine<'_> {
    /// Runs `run` until it ends or `deadline` passes.
    pub async fn step(
        &self,
        gym: &Gym,
        conn: &mut StoredConnection,
        run: &mut Run,
        deadline: Instant,
    ) -> Result<Step, RepoError> {
        if run.status.is_final() {
            return Ok(Step::Finished(run.status));
        }
        let now = crate::now_ms(self.clock);
        run.invocations += 1;
        if run.status == RunStatus::Queued {
            run.status = RunStatus::Running;
            run.started_at = Some(now);
            let started = event(
                self.db,
                "wodify.sync.started",
                now,
                json!({
                    "gymId": gym.id, "runId": run.id, "mode": run.mode, "trigger": run.trigger,
                    "windowFrom": run.window_from, "windowTo": run.window_to,
                }),
            );
            self.emit(run, started).await?;
        }
        let pulled = self.pull(gym, conn, run, deadline).await;
        self.merge_metrics(run);
        match pulled {
            Ok(true) => {
                self.finish(gym, conn, run).await?;
                Ok(Step::Finished(RunStatus::Succeeded))
            }
            Ok(false) => {
                repo::save_run(self.db, run).await?;
                Ok(Step::Continue)
            }
            // Our side: the run stays where its checkpoint is and the next step resumes it.
            Err(RunError::Store(e)) => Err(e),
            Err(RunError::Connector(e)) => {
                self.fail(gym, conn, run, &e).await?;
                Ok(Step::Finished(RunStatus::Failed))
            }
        }
    }

    /// Saves the run with its event in the outbox, then publishes the event to the bus. A
    /// publish that fails is logged, not retried: the outbox (and so webhooks) has the event.
    async fn emit(&self, run: &mut Run, event: Event) -> Result<(), RepoError> {
        repo::save_run_with_events(self.db, run, std::slice::from_ref(&event)).await?;
        if let Some(bus) = self.bus
            && let Err(e) = bus.publish(std::slice::from_ref(&event)).await
        {
            tracing::warn!(event = %event.event_type, id = %event.id, error = %e, "could not publish to the event bus");
        }
        Ok(())
    }

    fn merge_metrics(&self, run: &mut Run) {
        let snapshot = self.connector.metrics.snapshot();
        let mut merged: HashMap<String, Value> =
            run.latency.as_object().map(|m| m.clone().into_iter().collect()).unwrap_or_default();
        let mut requests = 0;
        for (endpoint, h) in snapshot {
            requests += h.count;
            let prior: Option<crate::metrics::Histogram> =
                merged.get(&endpoint).and_then(|v| serde_json::from_value(v.clone()).ok());
            let combined = match prior {
                Some(p) => p.merged(&h),
                None => h,
            };
            merged.insert(endpoint, serde_json::to_value(combined).unwrap_or(Value::Null));
        }
        run.requests += requests;
        run.latency = Value::Object(merged.into_iter().collect());
        self.connector.metrics.clear();
    }

    /// Pulls from the checkpoint on. `Ok(true)` when every entity is done, `Ok(false)` at the
    /// deadline.
    async fn pull(
        &self,
        gym: &Gym,
        conn: &mut StoredConnection,
        run: &mut Run,
        deadline: Instant,
    ) -> Result<bool, RunError> {
        let mut pages = 0u32;
        while run.checkpoint.entity < ENDPOINTS.len() {
            let ep = ENDPOINTS[run.checkpoint.entity];
            let available = conn.connection.availability.get(&ep.entity).is_none_or(|a| a.available);
            if !available {
                let counts = run.counts.entry(ep.entity).or_default();
                counts.completed = true;
                self.next_entity(gym, run, ep.entity, false).await?;
                continue;
            }
            // At least one page a step, so every step moves the run on.
            if pages > 0 && Instant::now() >= deadline {
                return Ok(false);
            }
            pages += 1;
            let page = run.checkpoint.page.max(1);
            let result = match ep.date_field {
                Some(field) => {
                    let search =
                        Search::new().gte(field, &run.window_from.to_string()).lt(field, &run.window_to.to_string());
                    self.connector.page(ep.path, ep.records, Some(&search), "id", page).await
                }
                None => self.connector.page(ep.path, ep.records, None, "id", page).await,
            };
            let page_data = match result {
                Ok(p) => p,
                // The key works (locations answered), so a 403 here is the gym's plan.
                Err(ConnectorError::Forbidden { status, .. }) if ep.entity != Entity::Locations => {
                    conn.connection.availability.insert(
                        ep.entity,
                        Availability {
                            available: false,
                            reason: Some(format!(
                                "your Wodify plan does not allow the API to read {} ({status} on /{})",
                                ep.entity.as_str(),
                                ep.path
                            )),
                        },
                    );
                    run.counts.entry(ep.entity).or_default().completed = true;
                    self.next_entity(gym, run, ep.entity, false).await?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let counts = self.land_page(gym, run, &ep, &page_data.records).await?;
            let c = run.counts.entry(ep.entity).or_default();
            c.pulled += counts.pulled;
            c.upserted += counts.upserted;
            c.transformed += counts.transformed;
            c.skipped += counts.skipped;
            c.requests += counts.requests + 1;
            if page_data.has_more {
                run.checkpoint.page = page + 1;
                repo::save_run(self.db, run).await?;
            } else {
                if ep.entity == Entity::Memberships {
                    self.link_renewals(gym, run).await?;
                }
                run.counts.entry(ep.entity).or_default().completed = true;
                conn.connection.availability.insert(ep.entity, Availability { available: true, reason: None });
                self.next_entity(gym, run, ep.entity, true).await?;
            }
        }
        Ok(true)
    }

    async fn next_entity(&self, gym: &Gym, run: &mut Run, entity: Entity, available: bool) -> Result<(), RepoError> {
        let counts = run.counts.get(&entity).cloned().unwrap_or_default();
        run.checkpoint.entity += 1;
        run.checkpoint.page = 1;
        let done = event(
            self.db,
            "wodify.sync.entity.completed",
            crate::now_ms(self.clock),
            json!({
                "gymId": gym.id, "runId": run.id, "mode": run.mode, "entity": entity,
                "available": available, "counts": counts,
            }),
        );
        self.emit(run, done).await
    }

    /// One page: land it raw (and the details of what changed), transform what changed, write
    /// the canonical rows.
    async fn land_page(
        &self,
        gym: &Gym,
        run: &Run,
        ep: &Endpoint,
        records: &[Value],
    ) -> Result<EntityCounts, RunError> {
        let now = crate::now_ms(self.clock);
        let mut counts = EntityCounts { pulled: records.len() as u64, ..EntityCounts::default() };
        // Records without an id can be neither landed nor transformed.
        let (usable, raw): (Vec<&Value>, Vec<RawIn>) = records
            .iter()
            .filter_map(|r| {
                let landed = RawIn {
                    external_id: transform::id_of(&r["id"])?,
                    payload: r.to_string(),
                    source_updated_at: transform::source_updated_at(r),
                };
                Some((r, landed))
            })
            .unzip();
        counts.skipped += (records.len() - raw.len()) as u64;
        let changed = repo::land_raw(self.db, PROVIDER, &gym.id, ep.raw, &raw, &run.id, now).await?;
        counts.upserted += changed.iter().filter(|c| **c).count() as u64;
        let full = matches!(run.mode, RunMode::Backfill | RunMode::Reconcile);
        // The records to transform: those that changed, or all of them on a full pull (a
        // transform that changed since, or rows lost, are rebuilt; unchanged rows write nothing).
        let mut todo: Vec<Value> = vec![];
        for ((record, landed), changed) in usable.iter().zip(&raw).zip(&changed) {
            let current_membership = ep.entity == Entity::Memberships
                && transform::date_of(&record["end_date"]).is_none_or(|e| e >= run.window_from);
            if !(full || *changed || current_membership) {
                continue;
            }
            match ep.detail {
                Some(prefix) => {
                    let id = &landed.external_id;
                    counts.requests += 1;
                    let template = format!("/{prefix}/{{id}}");
                    match self.connector.detail(&format!("{prefix}/{id}"), &template).await? {
                        Some(detail) => {
                            let landed = RawIn {
                                external_id: id.clone(),
                                payload: detail.to_string(),
                                source_updated_at: transform::source_updated_at(&detail),
                            };
                            let detail_changed =
                                repo::land_raw(self.db, PROVIDER, &gym.id, ep.raw_detail, &[landed], &run.id, now)
                                    .await?;
                            if full || *changed || detail_changed.first().copied().unwrap_or(false) {
                                todo.push(detail);
                            }
                        }
                        // Gone between the list and the detail: the list record stands.
                        None => todo.push((*record).clone()),
                    }
                }
                None => todo.push((*record).clone()),
            }
        }
        let (transformed, skipped) = self.transform(gym, run, ep.entity, &todo).await?;
        counts.transformed += transformed;
        counts.skipped += skipped;
        Ok(counts)
    }

    /// Raw records of one entity → canonical rows; answers (rows written, records unusable).
    async fn transform(
        &self,
        gym: &Gym,
        run: &Run,
        entity: Entity,
        records: &[Value],
    ) -> Result<(u64, u64), RepoError> {
        let rid = &run.id;
        let row = |external_id: &str, body: Value, month: Option<Month>| CanonicalRow {
            external_id: external_id.to_string(),
            body,
            month: month.map(|m| m.to_string()),
        };
        let mut rows: Vec<CanonicalRow> = vec![];
        let kind = match entity {
            Entity::Locations => {
                let mapped = only_location(gym);
                rows.extend(
                    records
                        .iter()
                        .filter_map(|r| transform::location(r, rid, mapped.clone()))
                        .map(|l| row(&l.external_id, json!(l), None)),
                );
                "locations"
            }
            Entity::Programs => {
                rows.extend(
                    records
                        .iter()
                        .filter_map(|r| transform::program(r, rid))
                        .map(|p| row(&p.external_id, json!(p), None)),
                );
                "programs"
            }
            Entity::Clients => {
                let today = crate::now_ms(self.clock).date_naive();
                let location = only_location(gym);
                for r in records {
                    let Some((mut member, fields)) = transform::client(r, rid, location.as_ref()) else { continue };
                    member.athlete_id = Some(self.upsert_athlete(&member.external_id, &fields, today).await?);
                    rows.push(row(&member.external_id, json!(member), None));
                }
                "members"
            }
            Entity::Memberships => {
                let mut memberships: Vec<iron_domain::sync::Membership> =
                    records.iter().filter_map(|r| transform::membership(r, rid)).collect();
                // A row keeps the chain it was linked into; new rows are linked once every
                // membership is in (`link_renewals`).
                let ids: Vec<String> = memberships.iter().map(|m| m.external_id.clone()).collect();
                let stored = repo::canonical_get(self.db, PROVIDER, &gym.id, "memberships", &ids).await?;
                for (m, old) in memberships.iter_mut().zip(stored) {
                    if let Some(chain) = old.as_ref().and_then(|o| o["chain"].as_str()) {
                        m.chain = chain.to_string();
                    }
                }
                rows.extend(memberships.iter().map(|m| row(&m.external_id, json!(m), None)));
                "memberships"
            }
            Entity::Attendance => {
                rows.extend(
                    records
                        .iter()
                        .filter_map(|r| transform::sign_in(r, rid))
                        .map(|a| row(&a.external_id, json!(a), Some(Month::of(a.class_start.date())))),
                );
                "attendance"
            }
            Entity::Invoices => {
                rows.extend(
                    records
                        .iter()
                        .filter_map(|r| transform::invoice(r, rid))
                        .map(|i| row(&i.external_id, json!(i), Some(Month::of(i.due)))),
                );
                "invoices"
            }
            Entity::Transactions => {
                rows.extend(
                    records
                        .iter()
                        .filter_map(|r| transform::transaction(r, rid))
                        .map(|t| row(&t.external_id, json!(t), Some(Month::of(t.at.date())))),
                );
                "transactions"
            }
        };
        // Each record gives one row or none.
        let skipped = (records.len() - rows.len()) as u64;
        let written = repo::put_canonical(self.db, PROVIDER, &gym.id, kind, &rows).await?;
        Ok((written, skipped))
    }

    /// The athlete a Wodify client is: found by its external id and updated when its fields
    /// changed, or created (`source: wodify`). An email another member already has (families
    /// share one) is left off the new athlete rather than refusing the member.
    async fn upsert_athlete(
        &self,
        external_id: &str,
        fields: &serde_json::Map<String, Value>,
        today: NaiveDate,
    ) -> Result<Id, RepoError> {
        let now = crate::now_ms(self.clock);
        if let Some(before) = athletes::find_by_external_id(self.db, external_id).await? {
            let mut after = before.clone();
            let mut fields = fields.clone();
            if before.email.is_none() {
                fields.remove("email");
            }
            let errors = apply_fields(&fields, &mut after, false, today);
            if !errors.is_empty() {
                tracing::debug!(external_id, fields = ?errors.iter().map(|e| &e.field).collect::<Vec<_>>(), "Wodify client fields skipped");
            }
            after.updated_at = before.updated_at;
            if after != before {
                after.updated_at = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
                match athletes::update(self.db, &before, &after).await {
                    Err(RepoError::Conflict { .. }) => {
                        after.email = before.email.clone();
                        athletes::update(self.db, &before, &after).await?;
                    }
                    other => other?,
                }
            }
            return Ok(before.id);
        }
        let mut a = Athlete::new_member(AthleteSource::Wodify, now);
        // A field Wodify holds in a form we refuse (an email that is not one) is left off: a
        // refused field is not applied, the others are.
        let errors = apply_fields(fields, &mut a, true, today);
        if !errors.is_empty() {
            tracing::debug!(external_id, fields = ?errors.iter().map(|e| &e.field).collect::<Vec<_>>(), "Wodify client fields skipped");
        }
        let created = event(
            self.db,
            "member.created",
            now,
            json!({"athleteId": a.id, "source": "wodify", "externalId": external_id}),
        );
        match athletes::create(self.db, &a, std::slice::from_ref(&created)).await {
            Err(RepoError::Conflict { field, .. }) if field == "email" => {
                a.email = None;
                athletes::create(self.db, &a, &[created]).await?;
            }
            other => other?,
        }
        Ok(a.id)
    }

    /// Once every membership is in: each row's renewal chain.
    async fn link_renewals(&self, gym: &Gym, run: &Run) -> Result<(), RepoError> {
        let mut rows: Vec<iron_domain::sync::Membership> = repo::canonical_all(self.db, &gym.id, "memberships")
            .await?
            .iter()
            .filter_map(|j| serde_json::from_str(j).ok())
            .collect();
        let before: HashMap<String, String> = rows.iter().map(|m| (m.external_id.clone(), m.chain.clone())).collect();
        transform::chain_roots(&mut rows);
        let changed: Vec<CanonicalRow> = rows
            .into_iter()
            .filter(|m| before.get(&m.external_id) != Some(&m.chain))
            .map(|mut m| {
                m.run_id = run.id.clone();
                CanonicalRow { external_id: m.external_id.clone(), body: json!(m), month: None }
            })
            .collect();
        repo::put_canonical(self.db, PROVIDER, &gym.id, "memberships", &changed).await?;
        Ok(())
    }

    /// A clean end: metrics of the months the window touched, the watermark, the connection.
    async fn finish(&self, gym: &Gym, conn: &mut StoredConnection, run: &mut Run) -> Result<(), RepoError> {
        let now = crate::now_ms(self.clock);
        let today = now.date_naive();
        let transactions_available =
            conn.connection.availability.get(&Entity::Transactions).is_none_or(|a| a.available);
        let months = Month::range(Month::of(run.window_from), Month::of(today));
        let computed = recompute(
            self.db,
            &gym.id,
            &months,
            today,
            &conn.connection.currency,
            transactions_available,
            Some(&run.id),
            now,
        )
        .await?;
        run.months_recomputed = computed.iter().map(|m| m.month.clone()).collect();
        run.status = RunStatus::Succeeded;
        run.finished_at = Some(now);
        repo::save_run(self.db, run).await?;
        let watermark = run.window_to.pred_opt().unwrap_or(run.window_to);
        let apply = |c: &mut Connection| {
            // Only a run that completed cleanly moves the watermark, and never back.
            c.watermark = Some(c.watermark.map_or(watermark, |w| w.max(watermark)));
            if run.mode == RunMode::Backfill {
                c.backfilled = true;
            }
            c.last_success_at = Some(now);
            c.last_run_at = Some(now);
            c.consecutive_failures = 0;
            if c.status == ConnectionStatus::Error {
                c.status = ConnectionStatus::Connected;
            }
            release(c, &run.id, now);
        };
        save_connection_retrying(self.db, conn, apply).await
    }

    async fn fail(
        &self,
        gym: &Gym,
        conn: &mut StoredConnection,
        run: &mut Run,
        e: &ConnectorError,
    ) -> Result<(), RepoError> {
        let now = crate::now_ms(self.clock);
        let message = explain(e);
        tracing::warn!(gym = %gym.id, run = %run.id, error = %message, "sync run failed");
        run.status = RunStatus::Failed;
        run.finished_at = Some(now);
        run.error = Some(message.clone());
        let entity = ENDPOINTS.get(run.checkpoint.entity).map(|ep| ep.entity);
        let failed = event(
            self.db,
            "wodify.sync.failed",
            now,
            json!({
                "gymId": gym.id, "runId": run.id, "mode": run.mode, "entity": entity, "error": message,
            }),
        );
        self.emit(run, failed).await?;
        let note = SyncError { at: now, run_id: Some(run.id.clone()), message };
        let apply = |c: &mut Connection| {
            c.last_error = Some(note.clone());
            c.last_run_at = Some(now);
            c.consecutive_failures += 1;
            if c.status == ConnectionStatus::Connected {
                c.status = ConnectionStatus::Error;
            }
            release(c, &run.id, now);
        };
        save_connection_retrying(self.db, conn, apply).await
    }
}

fn release(c: &mut Connection, run: &Id, now: DateTime<Utc>) {
    if c.current_run.as_ref() == Some(run) {
        c.current_run = None;
        c.lease_until = None;
    }
    c.updated_at = now;
}

/// Applies `change` to the connection and saves it; when someone else wrote it meanwhile (a key
/// rotated, a pause), reads it again and applies `change` to that version instead.
async fn save_connection_retrying(
    db: TenantDb<'_>,
    conn: &mut StoredConnection,
    change: impl Fn(&mut Connection),
) -> Result<(), RepoError> {
    change(&mut conn.connection);
    for _ in 0..5 {
        match repo::save_connection(db, conn).await {
            Err(RepoError::Conflict { .. }) => {
                let (provider, gym) = (conn.connection.provider, conn.connection.gym_id.clone());
                let Some(fresh) = repo::get_connection(db, provider, &gym).await? else {
                    return Err(RepoError::NotFound);
                };
                let availability = conn.connection.availability.clone();
                *conn = fresh;
                conn.connection.availability.extend(availability);
                change(&mut conn.connection);
            }
            other => return other,
        }
    }
    Err(RepoError::Conflict { field: "version".into(), message: "the connection kept changing".into() })
}

/// Our location Wodify's locations (and its clients) map to: the gym's only one. A gym of
/// several locations leaves them unmapped until it maps them.
fn only_location(gym: &Gym) -> Option<Id> {
    match gym.location_ids.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    }
}

/// Recomputes `months` of a gym's metrics cache from its canonical rows.
#[allow(clippy::too_many_arguments)]
pub async fn recompute(
    db: TenantDb<'_>,
    gym: &Id,
    months: &[Month],
    today: NaiveDate,
    currency: &str,
    transactions_available: bool,
    run: Option<&Id>,
    now: DateTime<Utc>,
) -> Result<Vec<MonthlyMetrics>, RepoError> {
    fn parse<T: serde::de::DeserializeOwned>(rows: Vec<String>) -> Vec<T> {
        rows.iter().filter_map(|j| serde_json::from_str(j).ok()).collect()
    }
    // Members and memberships once; each month's dated rows in turn.
    let mut set = CanonicalSet {
        members: parse(repo::canonical_all(db, gym, "members").await?),
        memberships: parse(repo::canonical_all(db, gym, "memberships").await?),
        ..CanonicalSet::default()
    };
    let mut out = vec![];
    for month in months {
        let m = month.to_string();
        set.attendance = parse(repo::canonical_month(db, gym, "attendance", &m).await?);
        set.invoices = parse(repo::canonical_month(db, gym, "invoices", &m).await?);
        set.transactions = parse(repo::canonical_month(db, gym, "transactions", &m).await?);
        let mut metrics = compute_month(&set, *month, today, currency, transactions_available);
        metrics.trace.run_id = run.cloned();
        metrics.trace.computed_at = Some(now);
        repo::put_metrics(db, gym, &metrics).await?;
        out.push(metrics);
    }
    Ok(out)
}

/// The metrics of `months` computed from the raw landing zone alone — every record as pulled,
/// transformed again in memory, each month's dated rows as [`recompute`] reads them — with
/// nothing from the canonical rows or the cache: what shows the cache reproducible.
pub async fn metrics_from_raw(
    db: TenantDb<'_>,
    gym: &Gym,
    months: &[Month],
    today: NaiveDate,
    currency: &str,
    transactions_available: bool,
) -> Result<Vec<MonthlyMetrics>, RepoError> {
    let raw = |entity: &'static str| repo::raw_all(db, PROVIDER, &gym.id, entity);
    // A record's detail (status history, holds) when one was pulled, else its list record.
    fn with_details(list: Vec<repo::RawRecord>, details: Vec<repo::RawRecord>) -> Vec<(Value, Id)> {
        let details: HashMap<String, String> = details.into_iter().map(|r| (r.external_id, r.payload)).collect();
        list.into_iter()
            .filter_map(|r| {
                let payload = details.get(&r.external_id).unwrap_or(&r.payload);
                serde_json::from_str(payload).ok().map(|v| (v, r.run_id))
            })
            .collect()
    }
    let parsed = |rows: Vec<repo::RawRecord>| -> Vec<(Value, Id)> {
        rows.into_iter().filter_map(|r| serde_json::from_str(&r.payload).ok().map(|v| (v, r.run_id))).collect()
    };
    let location = only_location(gym);
    let mut set = CanonicalSet::default();
    for (v, run) in with_details(raw("clients").await?, raw("client_details").await?) {
        if let Some((member, _)) = transform::client(&v, &run, location.as_ref()) {
            set.members.push(member);
        }
    }
    for (v, run) in with_details(raw("memberships").await?, raw("membership_details").await?) {
        set.memberships.extend(transform::membership(&v, &run));
    }
    transform::chain_roots(&mut set.memberships);
    let attendance: Vec<_> =
        parsed(raw("attendance").await?).iter().filter_map(|(v, r)| transform::sign_in(v, r)).collect();
    let invoices: Vec<_> =
        parsed(raw("invoices").await?).iter().filter_map(|(v, r)| transform::invoice(v, r)).collect();
    let transactions: Vec<_> =
        parsed(raw("transactions").await?).iter().filter_map(|(v, r)| transform::transaction(v, r)).collect();
    let mut out = vec![];
    for month in months {
        set.attendance = attendance.iter().filter(|a| Month::of(a.class_start.date()) == *month).cloned().collect();
        set.invoices = invoices.iter().filter(|i| Month::of(i.due) == *month).cloned().collect();
        set.transactions = transactions.iter().filter(|t| Month::of(t.at.date()) == *month).cloned().collect();
        out.push(compute_month(&set, *month, today, currency, transactions_available));
    }
    Ok(out)
}

/// Deletes a gym's Wodify data (raw, canonical, metrics); runs stay.
pub async fn purge(db: TenantDb<'_>, gym: &Id) -> Result<u64, RepoError> {
    repo::purge(db, PROVIDER, gym, &super::endpoints::RAW_ENTITIES, &CANONICAL_KINDS).await
}

/// How long a run's claim on its gym holds without being renewed (each step renews it).
pub const LEASE: chrono::Duration = chrono::Duration::minutes(15);

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the gym has no Wodify connection")]
    NotConnected,
    #[error("the connection is {0:?}: resume it first")]
    NotRunnable(ConnectionStatus),
    #[error("a run of this gym is in progress ({0})")]
    Busy(Id),
    #[error(transparent)]
    Store(#[from] RepoError),
}

/// The window a run of `mode` pulls, as of `today`: `from` inclusive, `to` exclusive (tomorrow,
/// so today's records so far are in).
pub fn window(c: &Connection, mode: RunMode, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let to = today.succ_opt().unwrap_or(today);
    let backfill_from = today - chrono::Duration::days(i64::from(c.sync_window_days));
    let from = match mode {
        RunMode::Backfill => backfill_from,
        RunMode::Incremental => c
            .watermark
            .map_or(backfill_from, |w| iron_domain::sync::incremental_from(w, iron_domain::sync::LOOK_BACK_DAYS)),
        RunMode::Reconcile => today - chrono::Duration::days(i64::from(c.reconcile_days)),
    };
    (from, to)
}

/// Starts a run: claims the gym (one run at a time) and records the run, queued.
pub async fn start(
    db: TenantDb<'_>,
    clock: &dyn Clock,
    gym: &Id,
    mode: RunMode,
    trigger: iron_domain::sync::RunTrigger,
) -> Result<Run, StartError> {
    let now = crate::now_ms(clock);
    for _ in 0..3 {
        let mut conn = repo::get_connection(db, PROVIDER, gym).await?.ok_or(StartError::NotConnected)?;
        let c = &mut conn.connection;
        if !matches!(c.status, ConnectionStatus::Connected | ConnectionStatus::Error) {
            return Err(StartError::NotRunnable(c.status));
        }
        if !c.is_free(now) {
            return Err(StartError::Busy(c.current_run.clone().unwrap_or_else(|| gym.clone())));
        }
        let (window_from, window_to) = window(c, mode, now.date_naive());
        let run = Run {
            id: Id::generate(iron_domain::IdKind::SyncRun, now.timestamp_millis()),
            gym_id: gym.clone(),
            provider: PROVIDER,
            mode,
            trigger,
            status: RunStatus::Queued,
            window_from,
            window_to,
            watermark_before: c.watermark,
            queued_at: now,
            started_at: None,
            finished_at: None,
            checkpoint: Default::default(),
            counts: Default::default(),
            requests: 0,
            latency: json!({}),
            months_recomputed: vec![],
            error: None,
            invocations: 0,
            key_version: c.key_version,
            version: 1,
        };
        // A run whose claim lapsed (its worker died for good: the message dead-lettered) ends
        // here, failed, so no run stays `running` forever.
        let lapsed = c.current_run.replace(run.id.clone());
        c.lease_until = Some(now + LEASE);
        c.updated_at = now;
        match repo::save_connection(db, &mut conn).await {
            Ok(()) => {
                repo::create_run(db, &run).await?;
                if let Some(old) = lapsed {
                    abandon_lapsed(db, gym, &old, &run.id, now).await?;
                }
                return Ok(run);
            }
            Err(RepoError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StartError::Busy(gym.clone()))
}

async fn abandon_lapsed(db: TenantDb<'_>, gym: &Id, old: &Id, by: &Id, now: DateTime<Utc>) -> Result<(), RepoError> {
    match repo::get_run(db, gym, old).await {
        Ok(mut r) if !r.status.is_final() => {
            r.status = RunStatus::Failed;
            r.finished_at = Some(now);
            r.error = Some(format!("stopped: its worker stopped and its claim lapsed; run `{by}` took over"));
            match repo::save_run(db, &mut r).await {
                // It woke and wrote meanwhile: it will find the gym is no longer its own.
                Err(RepoError::Conflict { .. }) => Ok(()),
                other => other,
            }
        }
        Err(RepoError::NotFound) | Ok(_) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Renews a run's claim on its gym (each step); `false` when the gym is no longer this run's
/// (its claim lapsed and another run took it, or the connection was paused or removed).
pub async fn renew(
    db: TenantDb<'_>,
    clock: &dyn Clock,
    conn: &mut StoredConnection,
    run: &Id,
) -> Result<bool, RepoError> {
    let now = crate::now_ms(clock);
    for _ in 0..5 {
        let c = &mut conn.connection;
        let held = c.current_run.as_ref() == Some(run) || c.current_run.is_none();
        if !held || !matches!(c.status, ConnectionStatus::Connected | ConnectionStatus::Error) {
            return Ok(false);
        }
        c.current_run = Some(run.clone());
        c.lease_until = Some(now + LEASE);
        match repo::save_connection(db, conn).await {
            Ok(()) => return Ok(true),
            Err(RepoError::Conflict { .. }) => {
                let Some(fresh) = repo::get_connection(db, PROVIDER, &conn.connection.gym_id).await? else {
                    return Ok(false);
                };
                *conn = fresh;
            }
            Err(e) => return Err(e),
        }
    }
    Err(RepoError::Conflict { field: "version".into(), message: "the connection kept changing".into() })
}
