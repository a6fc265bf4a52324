//! Challenges, participants, teams, entries, leaderboards and badges (the rules are
//! `iron_domain::challenge`'s; docs/DATA_MODEL.md, "Challenges", draws the items).
//!
//! An entry commits in one transaction with everything it changes: the entry and its source
//! guard, the participant (version-conditioned: two entries of one member serialise), the rank
//! trees' counters (unconditional adds: entries of different members never conflict on them),
//! the team's and location's aggregate counters, its events, and a badge on reaching the target.
//! A refused or conflicting transaction is retried from a fresh read, so concurrent entries all
//! count exactly once and the trees always equal the participants' scores.

use super::{RepoError, RepoResult, decode_json, encode};
use crate::item::{Cursor, Index, Item, Key, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, StoreError, TableStore, TxOp};
use crate::tenant::{TenantDb, TenantScope};
use chrono::{DateTime, Utc};
use iron_domain::challenge::{
    self, Aggregate, Challenge, Counts, DEPTH, Entry, EntrySource, Measurement, Metric, Mode, Node, Participant,
    SHARDS, Tally,
};
use iron_domain::{Athlete, Event, Id};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Attempts of one entry against concurrent writers before giving up (503 to the caller).
const ATTEMPTS: u32 = 12;

/// An item as its entity, keeping `version` (which the shared `decode` strips).
fn decode<T: serde::de::DeserializeOwned>(item: Item) -> RepoResult<T> {
    serde_json::from_value(Value::Object(item)).map_err(|e| RepoError::Corrupt(e.to_string()))
}

// ---- challenges ----

pub async fn create(db: TenantDb<'_>, c: &Challenge) -> RepoResult<()> {
    let item = keys::item_of("challenge", encode(c), keys::challenge(db.scope(), &c.id));
    db.store().put(item, Condition::NotExists).await?;
    Ok(())
}

/// A live challenge of this business.
pub async fn get(db: TenantDb<'_>, id: &Id) -> RepoResult<Challenge> {
    let json = db.store().get_json(&keys::challenge(db.scope(), id)).await?.ok_or(RepoError::NotFound)?;
    decode_json(&json)
}

/// Saves `c` over the version `seen` (its `version` must already be `seen + 1`).
pub async fn save(db: TenantDb<'_>, c: &Challenge, seen: u64) -> RepoResult<()> {
    let item = keys::item_of("challenge", encode(c), keys::challenge(db.scope(), &c.id));
    match db.store().put(item, Condition::AttrEquals("version".into(), json!(seen))).await {
        Err(StoreError::ConditionFailed) => Err(RepoError::Conflict {
            field: "version".into(),
            message: "the challenge changed while this request was made; read it again".into(),
        }),
        other => Ok(other?),
    }
}

/// Deletes the challenge. Its participants, entries and counters become unreachable (every read
/// starts from the challenge) and are left for a sweep.
pub async fn delete(db: TenantDb<'_>, c: &Challenge) -> RepoResult<()> {
    let key = keys::challenge(db.scope(), &c.id);
    match db.store().delete(&key, Condition::AttrEquals("version".into(), json!(c.version))).await {
        Err(StoreError::ConditionFailed) => Err(RepoError::NotFound),
        other => Ok(other?),
    }
}

/// How many challenges one list request may read past those it keeps before it answers with a
/// short page (and a cursor to go on from).
pub const LIST_SCAN: usize = 1_000;

/// Newest first: up to `limit` challenges that `keep` accepts (a challenge's state depends on
/// the time, so it is filtered as it is read). Reads on until the page is full, the partition
/// ends or `LIST_SCAN` were read; the cursor follows the last challenge read.
pub async fn list(
    db: TenantDb<'_>,
    limit: usize,
    cursor: Option<Cursor>,
    keep: impl Fn(&Challenge) -> bool,
) -> RepoResult<(Vec<Challenge>, Option<Cursor>)> {
    let mut kept = Vec::with_capacity(limit);
    let (mut cursor, mut read) = (cursor, 0);
    loop {
        let q = Query::new(Index::Table, keys::challenges_partition(db.scope())).backward().limit(limit).after(cursor);
        let page = db.store().query_json(q).await?;
        let last = page.items.len();
        for (i, json) in page.items.iter().enumerate() {
            read += 1;
            let c: Challenge = decode_json(json)?;
            if keep(&c) {
                kept.push(c);
            }
            if kept.len() == limit || read == LIST_SCAN {
                // Stopped inside the page: go on after this item; at its end: where it ends.
                let after =
                    || serde_json::from_str::<Item>(json).ok().and_then(|i| Cursor::after_item(Index::Table, &i));
                return Ok((kept, if i + 1 < last { after() } else { page.next }));
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok((kept, None)),
        }
    }
}

// ---- rank trees ----

/// The board a participant's location scope names, if any.
fn boards(p: &Participant) -> Vec<String> {
    let mut b = vec![keys::BOARD_ALL.to_owned()];
    if let Some(loc) = &p.location_id {
        b.push(loc.to_string());
    }
    b
}

fn counts_of(item: Option<Item>) -> Counts {
    let mut counts = Counts::new();
    for (k, v) in item.into_iter().flatten() {
        if let (Some(d), Some(n)) = (k.strip_prefix('c').and_then(|d| d.parse::<u8>().ok()), v.as_i64()) {
            counts.insert(d, n);
        }
    }
    counts
}

/// For each score: (participants above it, participants on it) over every shard of a board,
/// and the board's total — one batch read of `SHARDS × DEPTH` nodes per distinct path.
pub async fn count_around(
    store: &dyn TableStore,
    scope: &TenantScope,
    challenge: &Id,
    board: &str,
    scores: &[u32],
) -> RepoResult<(Vec<(u64, u64)>, u64)> {
    let mut wanted: Vec<(u8, Node)> = Vec::new();
    for shard in 0..SHARDS {
        wanted.push((shard, Node { level: 0, prefix: 0 }));
        for s in scores {
            for node in Node::path(*s) {
                if !wanted.contains(&(shard, node)) {
                    wanted.push((shard, node));
                }
            }
        }
    }
    let mut nodes: HashMap<(u8, Node), Counts> = HashMap::new();
    for chunk in wanted.chunks(crate::table::MAX_BATCH_GET) {
        let keys: Vec<Key> =
            chunk.iter().map(|(shard, n)| keys::rank_node(scope, challenge, board, *shard, &n.name())).collect();
        for (k, item) in chunk.iter().zip(store.get_many(&keys).await?) {
            nodes.insert(*k, counts_of(item));
        }
    }
    let empty = Counts::new();
    let total = (0..SHARDS)
        .map(|shard| challenge::tree_total(nodes.get(&(shard, Node { level: 0, prefix: 0 })).unwrap_or(&empty)))
        .sum();
    let around = scores
        .iter()
        .map(|s| {
            (0..SHARDS).fold((0, 0), |(a, e), shard| {
                let path: [Counts; DEPTH] = Node::path(*s).map(|n| nodes.get(&(shard, n)).cloned().unwrap_or_default());
                let (above, equal) = challenge::count_around(*s, &path);
                (a + above, e + equal)
            })
        })
        .collect();
    Ok((around, total))
}

/// The adds that move a participant's tree entries from `old` to `new` on its boards.
fn tree_ops(
    scope: &TenantScope,
    c: &Id,
    shard: u8,
    boards: &[String],
    old: Option<u32>,
    new: Option<u32>,
) -> Vec<TxOp> {
    let mut ops = Vec::new();
    for board in boards {
        for (node, changes) in challenge::tree_deltas(old, new) {
            ops.push(TxOp::Add {
                key: keys::rank_node(scope, c, board, shard, &node.name()),
                deltas: changes.into_iter().map(|(d, n)| (challenge::counter(d), n)).collect(),
            });
        }
    }
    ops
}

/// The adds that move a participant's value in its team's and location's aggregates.
fn aggregate_ops(
    scope: &TenantScope,
    c: &Challenge,
    p: &Participant,
    old: Option<f64>,
    new: Option<f64>,
    joined: bool,
) -> Vec<TxOp> {
    let (old_units, old_counted) = challenge::aggregate_units(c.metric, old);
    let (new_units, new_counted) = challenge::aggregate_units(c.metric, new);
    let mut deltas =
        vec![("total".to_owned(), new_units - old_units), ("counted".to_owned(), new_counted - old_counted)];
    if joined {
        deltas.push(("members".to_owned(), 1));
    }
    deltas.retain(|(_, d)| *d != 0);
    if deltas.is_empty() {
        return Vec::new();
    }
    let mut ops = Vec::new();
    if let (Mode::Team, Some(team)) = (c.mode, &p.team_id) {
        ops.push(TxOp::Add { key: keys::team_aggregate(scope, &c.id, team), deltas: deltas.clone() });
    }
    if let (Mode::Location, Some(loc)) = (c.mode, &p.location_id) {
        ops.push(TxOp::Add { key: keys::location_aggregate(scope, &c.id, loc, p.shard), deltas });
    }
    ops
}

fn participant_item(scope: &TenantScope, p: &Participant) -> Item {
    let key = keys::participant(scope, &p.challenge_id, p.shard, &p.member_id);
    let sort = p.sort_key();
    let mut item = keys::with_gsi1(
        keys::item_of("participant", encode(p), key),
        keys::board_entry(scope, &p.challenge_id, keys::BOARD_ALL, p.shard, &sort),
    );
    if let Some(loc) = &p.location_id {
        item = keys::with_gsi2(item, keys::board_entry(scope, &p.challenge_id, loc.as_str(), p.shard, &sort));
    }
    item
}

// ---- participants and teams ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub id: Id,
    pub challenge_id: Id,
    pub name: String,
    pub location_id: Option<Id>,
    /// Members on its roster.
    pub members: u32,
    pub created_at: DateTime<Utc>,
    pub version: u64,
}

/// A team with its aggregate counters.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamStanding {
    pub team: Team,
    pub total: i64,
    pub counted: i64,
}

pub async fn create_team(db: TenantDb<'_>, c: &Challenge, team: &Team) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let teams = list_teams(db, c).await?;
    if teams.len() >= challenge::MAX_TEAMS {
        return Err(RepoError::Refused {
            field: "/name".into(),
            message: format!("a challenge has at most {} teams", challenge::MAX_TEAMS),
        });
    }
    if teams.iter().any(|t| t.team.name.to_lowercase() == team.name.to_lowercase()) {
        return Err(RepoError::Conflict {
            field: "name".into(),
            message: format!("a team is already called `{}`", team.name),
        });
    }
    let item = keys::item_of("team", encode(team), keys::team(scope, &c.id, &team.id));
    store
        .transact(vec![
            TxOp::Check { key: keys::challenge(scope, &c.id), condition: Condition::Exists },
            TxOp::Put { item, condition: Condition::NotExists },
        ])
        .await
        .map_err(|e| match e {
            StoreError::TransactionCanceled { failed } if failed.contains(&0) => RepoError::NotFound,
            other => other.into(),
        })
}

pub async fn get_team(db: TenantDb<'_>, c: &Challenge, id: &Id) -> RepoResult<Team> {
    let item = db.store().get(&keys::team(db.scope(), &c.id, id)).await?.ok_or(RepoError::NotFound)?;
    decode(item)
}

/// Every team with its aggregate (at most [`challenge::MAX_TEAMS`]: a few pages), in creation order.
pub async fn list_teams(db: TenantDb<'_>, c: &Challenge) -> RepoResult<Vec<TeamStanding>> {
    let (store, scope) = (db.store(), db.scope());
    let mut teams: Vec<Team> = Vec::new();
    let mut totals: HashMap<String, (i64, i64)> = HashMap::new();
    let mut cursor = None;
    loop {
        let page = store
            .query(Query::new(Index::Table, keys::teams_partition(scope, &c.id)).limit(1000).after(cursor))
            .await?;
        for item in page.items {
            let sk = item.get("SK").and_then(Value::as_str).unwrap_or_default().to_owned();
            if let Some(id) = sk.strip_prefix(keys::TEAM_AGGREGATE_SK_PREFIX) {
                let n = |a: &str| item.get(a).and_then(Value::as_i64).unwrap_or(0);
                totals.insert(id.to_owned(), (n("total"), n("counted")));
            } else if sk.starts_with(keys::TEAM_SK_PREFIX) {
                teams.push(decode(item)?);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    teams.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(teams
        .into_iter()
        .map(|team| {
            let (total, counted) = totals.get(team.id.as_str()).copied().unwrap_or((0, 0));
            TeamStanding { team, total, counted }
        })
        .collect())
}

/// The members of a team's roster (at most its size).
pub async fn team_members(db: TenantDb<'_>, c: &Challenge, team: &Id) -> RepoResult<Vec<Participant>> {
    let (store, scope) = (db.store(), db.scope());
    let mut ids: Vec<Id> = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .query(Query::new(Index::Table, keys::team_members_partition(scope, &c.id, team)).limit(1000).after(cursor))
            .await?;
        ids.extend(page.items.iter().filter_map(|i| i.get("SK").and_then(Value::as_str)).filter_map(Id::parse));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut out = Vec::new();
    for chunk in ids.chunks(crate::table::MAX_BATCH_GET) {
        let keys: Vec<Key> = chunk.iter().map(|m| keys::participant(scope, &c.id, challenge::shard_of(m), m)).collect();
        for item in store.get_many(&keys).await?.into_iter().flatten() {
            out.push(decode(item)?);
        }
    }
    Ok(out)
}

/// The sum of each location's aggregate shards: (location, total, counted, members).
pub async fn location_standings(db: TenantDb<'_>, c: &Challenge) -> RepoResult<Vec<(Id, i64, i64, i64)>> {
    let (store, scope) = (db.store(), db.scope());
    let mut by: HashMap<Id, (i64, i64, i64)> = HashMap::new();
    let mut cursor = None;
    loop {
        let page = store
            .query(
                Query::new(Index::Table, keys::location_aggregates_partition(scope, &c.id)).limit(1000).after(cursor),
            )
            .await?;
        for item in page.items {
            let sk = item.get("SK").and_then(Value::as_str).unwrap_or_default();
            let Some(loc) = sk.split('#').next().and_then(Id::parse) else { continue };
            let n = |a: &str| item.get(a).and_then(Value::as_i64).unwrap_or(0);
            let e = by.entry(loc).or_default();
            e.0 += n("total");
            e.1 += n("counted");
            e.2 += n("members");
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut out: Vec<(Id, i64, i64, i64)> = by.into_iter().map(|(l, (t, c, m))| (l, t, c, m)).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

pub async fn participant(db: TenantDb<'_>, c: &Challenge, member: &Id) -> RepoResult<Option<Participant>> {
    let key = keys::participant(db.scope(), &c.id, challenge::shard_of(member), member);
    db.store().get_json(&key).await?.map(|j| decode_json(&j)).transpose()
}

/// A member's badge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Award {
    pub challenge_id: Id,
    pub challenge_name: String,
    pub badge: challenge::Badge,
    pub awarded_at: DateTime<Utc>,
    /// The value that reached the target.
    pub value: f64,
}

/// Joins `member` (to `team` in team mode), with an improvement baseline if known. Emits
/// `challenge.joined`. A second join is a conflict.
pub async fn join(
    db: TenantDb<'_>,
    c: &Challenge,
    member: &Athlete,
    team: Option<&Team>,
    baseline: Option<Measurement>,
    now: DateTime<Utc>,
) -> RepoResult<Participant> {
    let (store, scope) = (db.store(), db.scope());
    let mut tally = Tally::default();
    if let Some(b) = baseline {
        tally.measurements.push(b);
    }
    let mut p = Participant {
        challenge_id: c.id.clone(),
        member_id: member.id.clone(),
        display_name: challenge::display_name(&member.first_name, &member.last_name),
        team_id: team.map(|t| t.id.clone()),
        location_id: member.location_id.clone(),
        shard: challenge::shard_of(&member.id),
        joined_at: now,
        tally,
        score: 0,
        reached_at: now,
        goal_achieved_at: None,
        version: 1,
    };
    let value = p.tally.value(c);
    p.score = challenge::score(c.metric, value);
    let event = Event::new(
        "challenge.joined",
        db.business_id(),
        now,
        json!({"challengeId": c.id, "memberId": p.member_id, "teamId": p.team_id, "joinedAt": now}),
    );
    let mut ops = vec![
        TxOp::Check {
            key: keys::challenge(scope, &c.id),
            condition: Condition::AttrEquals("version".into(), json!(c.version)),
        },
        TxOp::Put { item: participant_item(scope, &p), condition: Condition::NotExists },
        TxOp::Put {
            item: keys::item_of(
                "memberChallenge",
                json!({"challengeId": c.id, "joinedAt": now, "teamId": p.team_id}),
                keys::member_challenge(scope, &p.member_id, &c.id),
            ),
            condition: Condition::None,
        },
    ];
    if let Some(t) = team {
        let mut next = t.clone();
        next.members += 1;
        next.version += 1;
        ops.push(TxOp::Put {
            item: keys::item_of("team", encode(&next), keys::team(scope, &c.id, &t.id)),
            condition: Condition::AttrEquals("version".into(), json!(t.version)),
        });
        ops.push(TxOp::Put {
            item: keys::item_of("teamMember", json!({}), keys::team_member(scope, &c.id, &t.id, &p.member_id)),
            condition: Condition::NotExists,
        });
    }
    ops.extend(tree_ops(scope, &c.id, p.shard, &boards(&p), None, Some(p.score)));
    ops.extend(aggregate_ops(scope, c, &p, None, value, true));
    ops.push(super::events::outbox_op(scope, &event));
    match store.transact(ops).await {
        Ok(()) => Ok(p),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(RepoError::Conflict {
            field: "challenge".into(),
            message: "the challenge changed while joining; retry".into(),
        }),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&1) => Err(RepoError::Conflict {
            field: "memberId".into(),
            message: "the member has already joined this challenge".into(),
        }),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&3) => Err(RepoError::Conflict {
            field: "teamId".into(),
            message: "the team's roster changed while joining; retry".into(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// The challenges a member has joined (ids, newest first), for the workout log.
pub async fn joined(db: TenantDb<'_>, member: &Id) -> RepoResult<Vec<Id>> {
    let q = Query::new(Index::Table, keys::member_challenges_partition(db.scope(), member)).backward().limit(200);
    let page = db.store().query(q).await?;
    Ok(page.items.iter().filter_map(|i| i.get("SK").and_then(Value::as_str)).filter_map(Id::parse).collect())
}

pub async fn badges(db: TenantDb<'_>, member: &Id) -> RepoResult<Vec<Award>> {
    let q = Query::new(Index::Table, keys::badges_partition(db.scope(), member)).backward().limit(1000);
    let page = db.store().query_json(q).await?;
    page.items.iter().map(|j| decode_json(j)).collect()
}

// ---- entries ----

/// An entry to record: new, or a correction of the one with the same source id.
#[derive(Debug, Clone)]
pub struct EntryInput {
    pub member_id: Id,
    pub value: f64,
    /// `None`: now for a new entry, unchanged for a correction.
    pub occurred_at: Option<DateTime<Utc>>,
    pub source: EntrySource,
    pub source_id: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    /// The same source record with a new value or time.
    Corrected,
    /// The same source record as before: nothing changed.
    Unchanged,
    Deleted,
}

/// What recording an entry did.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub entry: Entry,
    pub outcome: Outcome,
    pub participant: Participant,
    pub value_before: Option<f64>,
    pub rank_before: u64,
    pub rank_after: u64,
    /// The target was reached by this entry (`goal.achieved` was emitted).
    pub goal_achieved: bool,
}

/// The entry's wire form in events (the API's `ChallengeEntry`).
pub fn entry_json(c: &Challenge, e: &Entry) -> Value {
    json!({
        "id": e.id, "challengeId": e.challenge_id, "memberId": e.member_id, "value": e.value,
        "unit": c.metric.unit(), "occurredAt": e.occurred_at, "source": e.source, "sourceId": e.source_id,
        "note": e.note, "createdAt": e.created_at, "updatedAt": e.updated_at,
    })
}

pub async fn get_entry(db: TenantDb<'_>, c: &Challenge, id: &Id) -> RepoResult<Entry> {
    let json = db.store().get_json(&keys::challenge_entry(db.scope(), &c.id, id)).await?.ok_or(RepoError::NotFound)?;
    decode_json(&json)
}

/// A member's entries in a challenge, newest first.
pub async fn list_entries(
    db: TenantDb<'_>,
    c: &Challenge,
    member: &Id,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<Entry>, Option<Cursor>)> {
    let q = Query::new(Index::Gsi1, keys::entries_of_member_partition(db.scope(), &c.id, member))
        .backward()
        .limit(limit)
        .after(cursor);
    super::decode_page(db.store().query_json(q).await?)
}

async fn entry_by_source(
    db: TenantDb<'_>,
    c: &Challenge,
    source: EntrySource,
    source_id: &str,
) -> RepoResult<Option<Entry>> {
    let guard = db.store().get(&keys::entry_source_guard(db.scope(), &c.id, source.as_str(), source_id)).await?;
    let Some(id) = guard.as_ref().and_then(|g| g.get("entryId")).and_then(Value::as_str).and_then(Id::parse) else {
        return Ok(None);
    };
    match get_entry(db, c, &id).await {
        Err(RepoError::NotFound) => Ok(None),
        other => other.map(Some),
    }
}

fn not_participant() -> RepoError {
    RepoError::Refused { field: "/memberId".into(), message: "the member has not joined this challenge".into() }
}

/// Records an entry, or corrects the entry with the same (source, source id). The member must
/// have joined; the caller has checked the value and the time against the challenge.
pub async fn record_entry(
    db: TenantDb<'_>,
    c: &Challenge,
    input: EntryInput,
    now: DateTime<Utc>,
) -> RepoResult<Recorded> {
    for attempt in 0..ATTEMPTS {
        let p = participant(db, c, &input.member_id).await?.ok_or_else(not_participant)?;
        let existing = match &input.source_id {
            Some(sid) => entry_by_source(db, c, input.source, sid).await?,
            None => None,
        };
        let at = input.occurred_at.or(existing.as_ref().map(|e| e.occurred_at)).unwrap_or(now);
        if let Some(e) = &existing
            && e.value == input.value
            && e.occurred_at == at
            && e.member_id == input.member_id
        {
            let value = p.value(c);
            let (around, _) = count_around(db.store(), db.scope(), &c.id, keys::BOARD_ALL, &[p.score]).await?;
            let rank = around[0].0 + 1;
            return Ok(Recorded {
                entry: e.clone(),
                outcome: Outcome::Unchanged,
                participant: p,
                value_before: value,
                rank_before: rank,
                rank_after: rank,
                goal_achieved: false,
            });
        }
        if let Some(e) = &existing
            && e.member_id != input.member_id
        {
            return Err(RepoError::Conflict {
                field: "sourceId".into(),
                message: "this source record is another member's entry".into(),
            });
        }
        let entry = match &existing {
            Some(e) => Entry {
                value: input.value,
                occurred_at: at,
                note: input.note.clone().or_else(|| e.note.clone()),
                updated_at: now,
                version: e.version + 1,
                ..e.clone()
            },
            None => Entry {
                id: Id::generate(iron_domain::IdKind::Entry, now.timestamp_millis()),
                challenge_id: c.id.clone(),
                member_id: input.member_id.clone(),
                value: input.value,
                occurred_at: at,
                source: input.source,
                source_id: input.source_id.clone(),
                note: input.note.clone(),
                created_at: now,
                updated_at: now,
                version: 1,
            },
        };
        match commit(db, c, p, existing.as_ref(), Some(&entry), now).await? {
            Some(r) => return Ok(r),
            None => super::conflict_backoff(attempt).await,
        }
    }
    Err(StoreError::Throttled.into())
}

/// Deletes an entry (a deleted workout, a staff correction), taking it out of the score.
pub async fn delete_entry(db: TenantDb<'_>, c: &Challenge, id: &Id, now: DateTime<Utc>) -> RepoResult<Recorded> {
    for attempt in 0..ATTEMPTS {
        let entry = get_entry(db, c, id).await?;
        let p = participant(db, c, &entry.member_id).await?.ok_or(RepoError::NotFound)?;
        match commit(db, c, p, Some(&entry), None, now).await? {
            Some(r) => return Ok(r),
            None => super::conflict_backoff(attempt).await,
        }
    }
    Err(StoreError::Throttled.into())
}

/// Deletes the entry a source record made, if there is one.
pub async fn delete_by_source(
    db: TenantDb<'_>,
    c: &Challenge,
    source: EntrySource,
    source_id: &str,
    now: DateTime<Utc>,
) -> RepoResult<Option<Recorded>> {
    match entry_by_source(db, c, source, source_id).await? {
        None => Ok(None),
        Some(e) => match delete_entry(db, c, &e.id, now).await {
            Err(RepoError::NotFound) => Ok(None),
            other => other.map(Some),
        },
    }
}

/// One attempt: replaces `old` (if any) by `new` (if any) in `p`'s tally and commits every
/// change together. `None`: a concurrent writer won; read again and retry.
async fn commit(
    db: TenantDb<'_>,
    c: &Challenge,
    p: Participant,
    old: Option<&Entry>,
    new: Option<&Entry>,
    now: DateTime<Utc>,
) -> RepoResult<Option<Recorded>> {
    let (store, scope) = (db.store(), db.scope());
    let value_before = p.value(c);
    let mut next = p.clone();
    if let Some(e) = old {
        next.tally.remove(c.metric, &e.contribution(c));
    }
    if let Some(e) = new {
        if c.metric == Metric::Improvement && next.tally.measurements.len() >= challenge::MAX_MEASUREMENTS {
            return Err(RepoError::Refused {
                field: "/value".into(),
                message: format!("a participant keeps at most {} measurements", challenge::MAX_MEASUREMENTS),
            });
        }
        next.tally.add(c.metric, &e.contribution(c));
    }
    let value_after = next.tally.value(c);
    next.score = challenge::score(c.metric, value_after);
    if next.score != p.score {
        next.reached_at = now;
    }
    next.version = p.version + 1;
    let goal = next.goal_achieved_at.is_none() && c.reached_target(value_after);
    if goal {
        next.goal_achieved_at = Some(now);
    }

    let (around, _) = count_around(store, scope, &c.id, keys::BOARD_ALL, &[p.score, next.score]).await?;
    let rank_before = around[0].0 + 1;
    let self_above = u64::from(p.score > next.score);
    let rank_after = around[1].0 - self_above.min(around[1].0) + 1;

    let outcome = match (old, new) {
        (None, Some(_)) => Outcome::Created,
        (Some(_), Some(_)) => Outcome::Corrected,
        _ => Outcome::Deleted,
    };
    let entry = new.or(old).cloned().ok_or_else(|| RepoError::Corrupt("an entry change without an entry".into()))?;
    let mut ops = vec![TxOp::Put {
        item: participant_item(scope, &next),
        condition: Condition::AttrEquals("version".into(), json!(p.version)),
    }];
    let entry_key = keys::challenge_entry(scope, &c.id, &entry.id);
    match (old, new) {
        (_, Some(e)) => {
            let item = keys::with_gsi1(
                keys::item_of("challengeEntry", encode(e), entry_key),
                keys::entry_of_member(scope, &c.id, &e.member_id, e.occurred_at, &e.id),
            );
            let condition = match old {
                Some(o) => Condition::AttrEquals("version".into(), json!(o.version)),
                None => Condition::NotExists,
            };
            ops.push(TxOp::Put { item, condition });
            if let (None, Some(sid)) = (old, &e.source_id) {
                ops.push(TxOp::Put {
                    item: keys::item_of(
                        "guard",
                        json!({"entryId": e.id}),
                        keys::entry_source_guard(scope, &c.id, e.source.as_str(), sid),
                    ),
                    condition: Condition::NotExists,
                });
            }
        }
        (Some(o), None) => {
            ops.push(TxOp::Delete {
                key: entry_key,
                condition: Condition::AttrEquals("version".into(), json!(o.version)),
            });
            if let Some(sid) = &o.source_id {
                ops.push(TxOp::Delete {
                    key: keys::entry_source_guard(scope, &c.id, o.source.as_str(), sid),
                    condition: Condition::None,
                });
            }
        }
        (None, None) => {}
    }
    ops.extend(tree_ops(scope, &c.id, p.shard, &boards(&p), Some(p.score), Some(next.score)));
    ops.extend(aggregate_ops(scope, c, &p, value_before, value_after, false));
    let data = json!({
        "challengeId": c.id, "memberId": p.member_id, "change": outcome, "entry": entry_json(c, &entry),
        "valueBefore": value_before, "value": value_after, "unit": c.metric.unit(),
        "rankBefore": rank_before, "rank": rank_after, "progress": c.progress(value_after),
    });
    ops.push(super::events::outbox_op(scope, &Event::new("challenge.entry", db.business_id(), now, data)));
    if goal {
        let data = json!({
            "challengeId": c.id, "challengeName": c.name, "memberId": p.member_id, "target": c.target,
            "value": value_after, "unit": c.metric.unit(), "badge": c.badge, "achievedAt": now,
        });
        ops.push(super::events::outbox_op(scope, &Event::new("goal.achieved", db.business_id(), now, data)));
        if let Some(badge) = &c.badge {
            let award = Award {
                challenge_id: c.id.clone(),
                challenge_name: c.name.clone(),
                badge: badge.clone(),
                awarded_at: now,
                value: value_after.unwrap_or_default(),
            };
            ops.push(TxOp::Put {
                item: keys::item_of("badge", encode(&award), keys::badge(scope, &p.member_id, &c.id)),
                condition: Condition::NotExists,
            });
        }
    }
    match store.transact(ops).await {
        Ok(()) => Ok(Some(Recorded {
            entry,
            outcome,
            participant: next,
            value_before,
            rank_before,
            rank_after,
            goal_achieved: goal,
        })),
        Err(StoreError::TransactionCanceled { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

// ---- leaderboards ----

/// A participant with its rank.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub rank: u64,
    pub participant: Participant,
}

/// One page of a board (everyone, or one location's members): the participants after the
/// sort key `after`, merged from every shard, with exact competition ranks; the next page's
/// sort key; and the board's participant count. Reads: one query per shard (a few items each,
/// rarely a second for one shard) and one batch of tree nodes, whatever the page's depth.
pub async fn leaderboard(
    db: TenantDb<'_>,
    c: &Challenge,
    board: &str,
    limit: usize,
    after: Option<&str>,
) -> RepoResult<(Vec<Ranked>, Option<String>, u64)> {
    let (store, scope) = (db.store(), db.scope());
    let index = if board == keys::BOARD_ALL { Index::Gsi1 } else { Index::Gsi2 };
    let want = limit + 1;
    // Members hash evenly over the shards, so a page's items are spread over them: each shard is
    // first asked for a few more than its share, not for the whole page. A shard whose last item
    // read still sorts inside the page may hold more of it and is read again from there (rarely:
    // when its share runs more than 4 over), so the page stays exact.
    let share = want.min(want.div_ceil(usize::from(SHARDS)) + 4);
    let query = |shard: u8, cursor: Option<Cursor>, take: usize| {
        let mut q = Query::new(index, keys::board_partition(scope, &c.id, board, shard)).limit(take).after(cursor);
        if let Some(a) = after {
            q = q.sk(SkCondition::Gt(a.to_owned()));
        }
        store.query_json(q)
    };
    let mut all: Vec<Participant> = Vec::new();
    // Shards that may have more: the shard, the sort key of its last item read, its cursor.
    let mut open: Vec<(u8, Option<String>, Cursor)> = Vec::new();
    let mut reads: Vec<(u8, Option<String>, Option<Cursor>)> = (0..SHARDS).map(|shard| (shard, None, None)).collect();
    let mut take = share;
    loop {
        let pages = futures_join(reads.iter().map(|(shard, _, cursor)| query(*shard, cursor.clone(), take))).await?;
        for ((shard, last, _), page) in reads.drain(..).zip(pages) {
            let read = page.items.iter().map(|j| decode_json(j)).collect::<Result<Vec<Participant>, _>>()?;
            if let Some(next) = page.next {
                open.push((shard, read.last().map(Participant::sort_key).or(last), next));
            }
            all.extend(read);
        }
        all.sort_by_cached_key(Participant::sort_key);
        let bound = all.get(want - 1).map(Participant::sort_key);
        // A shard whose last item read sorts before the page's last may hold more of the page.
        reads = open
            .drain(..)
            .filter(|(_, last, _)| bound.as_ref().is_none_or(|b| last.as_ref().is_none_or(|l| l < b)))
            .map(|(shard, last, cursor)| (shard, last, Some(cursor)))
            .collect();
        if reads.is_empty() {
            break;
        }
        take = want;
    }
    let more = all.len() > limit;
    all.truncate(limit);
    let Some(first) = all.first() else {
        let (_, total) = count_around(store, scope, &c.id, board, &[]).await?;
        return Ok((Vec::new(), None, total));
    };
    // The first page starts at rank 1: only the roots are read (for the total). A later page
    // reads its first score's paths: how many are above it, and on it.
    let (above0, equal0, total) = if after.is_none() {
        let (_, total) = count_around(store, scope, &c.id, board, &[]).await?;
        let equal = all.iter().take_while(|p| p.score == first.score).count() as u64;
        (0, equal, total)
    } else {
        let (around, total) = count_around(store, scope, &c.id, board, &[first.score]).await?;
        (around[0].0, around[0].1, total)
    };
    let s0 = first.score;
    let mut out: Vec<Ranked> = Vec::with_capacity(all.len());
    let mut below_in_page = 0u64;
    for p in all {
        let rank = if p.score == s0 {
            above0 + 1
        } else if out.last().is_some_and(|prev| prev.participant.score == p.score) {
            out.last().map_or(1, |prev| prev.rank)
        } else {
            above0 + equal0 + below_in_page + 1
        };
        if p.score != s0 {
            below_in_page += 1;
        }
        out.push(Ranked { rank, participant: p });
    }
    let next = if more { out.last().map(|r| r.participant.sort_key()) } else { None };
    Ok((out, next, total))
}

/// A participant's rank on a board (1 + those strictly above), and the board's size.
pub async fn rank_of(db: TenantDb<'_>, c: &Challenge, board: &str, p: &Participant) -> RepoResult<(u64, u64)> {
    let (around, total) = count_around(db.store(), db.scope(), &c.id, board, &[p.score]).await?;
    Ok((around[0].0 + 1, total))
}

/// Runs the shard queries together (one round trip's latency, not eight).
async fn futures_join<F, T>(futures: impl Iterator<Item = F>) -> RepoResult<Vec<T>>
where
    F: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut set = Vec::new();
    for f in futures {
        set.push(f);
    }
    let mut out = Vec::with_capacity(set.len());
    // The futures borrow the store; join them in place.
    let results = join_all(set).await;
    for r in results {
        out.push(r?);
    }
    Ok(out)
}

/// A minimal `join_all` (the futures crate is not a dependency of this crate).
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    results.into_iter().map(|r| r.expect("every future finished")).collect()
}

/// Whether anyone has joined (the rank trees' roots hold every participant).
pub async fn participant_count(db: TenantDb<'_>, c: &Challenge) -> RepoResult<u64> {
    let (_, total) = count_around(db.store(), db.scope(), &c.id, keys::BOARD_ALL, &[]).await?;
    Ok(total)
}

/// The aggregate of a team or location as its value.
pub fn standing_value(c: &Challenge, total: i64, counted: i64) -> Option<f64> {
    challenge::aggregate_value(
        c.metric,
        if c.mode == Mode::Individual { Aggregate::Sum } else { c.aggregate },
        total,
        counted,
    )
}

// ---- the workout log and fitness tests ----

/// The entry source of a workout.
fn workout_source(w: &iron_domain::workout::Workout) -> EntrySource {
    use iron_domain::workout::WorkoutSource;
    match w.source {
        WorkoutSource::Equipment => EntrySource::Equipment,
        WorkoutSource::Import => EntrySource::Import,
        WorkoutSource::Manual | WorkoutSource::Kiosk => EntrySource::Workout,
    }
}

/// An internal consumer of events (run by the dispatcher's tasks, at least once): a workout
/// completed, corrected or deleted enters, corrects or leaves every running challenge its
/// member joined; a fitness test enters improvement challenges (its measurement) and PR
/// challenges (when it beats the member's earlier tests of its type). Reads the record's
/// current state, so replays and reorderings converge on it.
pub async fn on_event(db: TenantDb<'_>, event: &Event, now: DateTime<Utc>) -> RepoResult<()> {
    let text = |k: &str| event.data.get(k).and_then(Value::as_str).and_then(Id::parse);
    match event.event_type.as_str() {
        "workout.completed" | "workout.updated" | "workout.deleted" => {
            let (Some(id), Some(member)) = (text("id"), text("memberId")) else {
                return Err(RepoError::Corrupt(format!("event {} names no workout and member", event.id)));
            };
            let workout = match super::workouts::get(db, &id).await {
                Ok(w) if event.event_type != "workout.deleted" => Some(w),
                Ok(_) | Err(RepoError::NotFound) => None,
                Err(e) => return Err(e),
            };
            for cid in joined(db, &member).await? {
                let c = match get(db, &cid).await {
                    Err(RepoError::NotFound) => continue,
                    other => other?,
                };
                let fits = workout.as_ref().and_then(|w| {
                    let value = c.workout_value(w)?;
                    (challenge::check_value(c.metric, value).is_ok() && c.refuse_time(w.started_at, now).is_none())
                        .then_some((w, value))
                });
                let source = workout.as_ref().map_or(EntrySource::Workout, workout_source);
                match fits {
                    Some((w, value)) => {
                        let input = EntryInput {
                            member_id: member.clone(),
                            value,
                            occurred_at: Some(w.started_at),
                            source,
                            source_id: Some(id.to_string()),
                            note: None,
                        };
                        match record_entry(db, &c, input, now).await {
                            Ok(_) | Err(RepoError::Refused { .. }) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    None => {
                        for s in [EntrySource::Workout, EntrySource::Equipment, EntrySource::Import] {
                            delete_by_source(db, &c, s, id.as_str(), now).await?;
                        }
                    }
                }
            }
            Ok(())
        }
        "test.completed" => {
            let (Some(id), Some(member)) = (text("id"), text("athleteId")) else {
                return Err(RepoError::Corrupt(format!("event {} names no test and athlete", event.id)));
            };
            let test = match super::fitness_tests::get(db, &id).await {
                Err(RepoError::NotFound) => return Ok(()),
                other => other?,
            };
            for cid in joined(db, &member).await? {
                let c = match get(db, &cid).await {
                    Err(RepoError::NotFound) => continue,
                    other => other?,
                };
                if c.refuse_time(test.performed_at, now).is_some() {
                    continue;
                }
                let value = match c.metric {
                    Metric::Improvement => c.measure.and_then(|m| m.of_test(&test)),
                    Metric::PrCount if is_personal_record(db, &test).await? => Some(1.0),
                    _ => None,
                };
                let Some(value) = value.filter(|v| challenge::check_value(c.metric, *v).is_ok()) else { continue };
                let input = EntryInput {
                    member_id: member.clone(),
                    value,
                    occurred_at: Some(test.performed_at),
                    source: EntrySource::Test,
                    source_id: Some(id.to_string()),
                    note: None,
                };
                match record_entry(db, &c, input, now).await {
                    Ok(_) | Err(RepoError::Refused { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The result a test type is judged on for personal records.
fn primary_measure(t: iron_domain::TestType) -> challenge::Measure {
    use iron_domain::TestType;
    match t {
        TestType::Row2k => challenge::Measure::Row2kTime,
        TestType::LactateStep => challenge::Measure::PeakPower,
        TestType::Vo2maxRamp | TestType::Cooper12min => challenge::Measure::Vo2max,
    }
}

/// Whether a test beats every earlier test of its type by the member (a first test is a
/// baseline, not a record).
async fn is_personal_record(db: TenantDb<'_>, test: &iron_domain::FitnessTest) -> RepoResult<bool> {
    let measure = primary_measure(test.test_type);
    let Some(value) = measure.of_test(test) else { return Ok(false) };
    let earlier: Vec<f64> = super::fitness_tests::recent_for_athlete(db, &test.athlete_id, 200)
        .await?
        .iter()
        .filter(|t| t.test_type == test.test_type && t.performed_at < test.performed_at && t.id != test.id)
        .filter_map(|t| measure.of_test(t))
        .collect();
    if earlier.is_empty() {
        return Ok(false);
    }
    Ok(if measure.higher_is_better() { earlier.iter().all(|e| value > *e) } else { earlier.iter().all(|e| value < *e) })
}

/// The member's latest measurement before the challenge starts: an improvement's baseline.
pub async fn baseline(db: TenantDb<'_>, c: &Challenge, member: &Id) -> RepoResult<Option<Measurement>> {
    let Some(measure) = c.measure else { return Ok(None) };
    let tests = super::fitness_tests::recent_for_athlete(db, member, 200).await?;
    Ok(tests
        .iter()
        .filter(|t| t.performed_at < c.starts_at)
        .filter_map(|t| Some((t.performed_at, measure.of_test(t)?)))
        .max_by_key(|(at, _)| *at)
        .map(|(at, value)| Measurement { entry_id: None, at, value }))
}
