//! `/challenges/{id}/leaderboard` (`read:challenges`): exact competition ranks at any size.
//!
//! Members are read a page at a time from the board's shards in rank order; the page's ranks
//! come from the rank trees (one batch read), so a page deep in a 100,000-member board costs
//! what the first page costs. Teams (at most 500) and locations are ranked from their
//! aggregates in one partition.

use crate::challenges::READ;
use crate::participants::MemberRef;
use axum::Json;
use axum::extract::Path;
use iron_domain::challenge::{
    Challenge, ChallengeStatus, ChallengeType, Metric, Mode, competition_ranks, is_board_sort_key,
};
use iron_domain::{IdKind, Location};
use iron_http::{ApiError, Principal, QueryParams};
use iron_store::keys::BOARD_ALL;
use iron_store::repo::challenges as repo;
use iron_store::repo::{RepoError, locations};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeSummary {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub challenge_type: ChallengeType,
    pub metric: Metric,
    pub unit: String,
    pub mode: Mode,
    pub status: ChallengeStatus,
    pub target: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

/// One row: a member, a team or a location, by what the board ranks.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Standing {
    /// Competition rank: ties share it (1, 2, 2, 4).
    pub rank: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<NamedRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<NamedRef>,
    /// In the challenge's unit; null for no value yet.
    pub value: Option<f64>,
    /// 0–100 of the target (null without one).
    pub progress: Option<f64>,
    /// Members of a team or location row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeaderboardOut {
    pub challenge: ChallengeSummary,
    /// What the rows are: `members`, `teams` or `locations`.
    #[schema(example = "members")]
    pub board: String,
    pub leaderboard: Vec<Standing>,
    /// With `memberId`: that member's row on this board (their team's or location's on a team
    /// or location board); null when they are not on it.
    pub my_position: Option<Standing>,
    /// Members on this board.
    pub total_participants: u64,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn summary(c: &Challenge, now: chrono::DateTime<chrono::Utc>) -> ChallengeSummary {
    ChallengeSummary {
        id: c.id.to_string(),
        name: c.name.clone(),
        challenge_type: c.challenge_type,
        metric: c.metric,
        unit: c.metric.unit().into(),
        mode: c.mode,
        status: c.status(now),
        target: c.target,
    }
}

fn member_row(c: &Challenge, rank: u64, p: &iron_domain::challenge::Participant) -> Standing {
    let value = p.value(c);
    Standing {
        rank,
        member: Some(MemberRef::of(p)),
        team: None,
        location: None,
        value,
        progress: c.progress(value),
        members: None,
    }
}

fn bad_cursor() -> ApiError {
    ApiError::BadParameter {
        param: "cursor".into(),
        detail: "is not a cursor of this leaderboard; pass `nextCursor` from the previous page unchanged".into(),
    }
}

/// A leaderboard
///
/// The challenge's board by its mode (members, teams or locations), best first. `locationId`
/// ranks the members of one location, `teamId` the members of one team. Ties share a rank and
/// are ordered by who reached the value first, then by member id, on every page.
#[utoipa::path(get, path = "/api/external/v1/challenges/{id}/leaderboard", operation_id = "getLeaderboard", tag = "challenges",
    params(("id" = String, Path, description = "Challenge id (`chl_…`)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Rows, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page."),
        ("memberId" = Option<String>, Query, pattern = "^ath_[0-9A-HJKMNP-TV-Z]{26}$", description = "Also answer this member's position (`myPosition`)."),
        ("teamId" = Option<String>, Query, pattern = "^team_[0-9A-HJKMNP-TV-Z]{26}$", description = "Rank the members of this team (team challenges)."),
        ("locationId" = Option<String>, Query, pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$", description = "Rank the members of this location.")),
    responses((status = 200, description = "The leaderboard", body = LeaderboardOut),
              (status = 400, description = "A malformed parameter", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such challenge (or team) in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn leaderboard(
    axum::extract::State(api): axum::extract::State<iron_http::ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<LeaderboardOut>, ApiError> {
    let tenant = principal.require_any(READ)?;
    params.allow(&["limit", "cursor", "memberId", "teamId", "locationId"])?;
    let limit = params.uint("limit", 1, 100)?.unwrap_or(25) as usize;
    let member = params.id("memberId", IdKind::Athlete)?;
    let team = params.id("teamId", IdKind::Team)?;
    let location = params.id("locationId", IdKind::Location)?;
    if team.is_some() && location.is_some() {
        return Err(ApiError::BadParameter {
            param: "teamId".into(),
            detail: "can't be combined with `locationId`".into(),
        });
    }
    let cursor = params.str("cursor").map(|raw| crate::decode_cursor(raw).ok_or_else(bad_cursor)).transpose()?;
    let db = tenant.db();
    let now = api.now();
    let c = crate::challenge(db, &id).await?;
    let me = match &member {
        Some(m) => repo::participant(db, &c, m).await?,
        None => None,
    };

    // Teams and locations: every row ranked in memory, paged by offset.
    let ranked_rows = if let Some(t) = &team {
        if c.mode != Mode::Team {
            return Err(ApiError::NotFound(format!("no team `{t}` in this challenge (it is not a team challenge)")));
        }
        match repo::get_team(db, &c, t).await {
            Err(RepoError::NotFound) => return Err(ApiError::NotFound(format!("no team `{t}` in this challenge"))),
            other => drop(other?),
        }
        let mut members = repo::team_members(db, &c, t).await?;
        members.sort_by_cached_key(|p| p.sort_key());
        let scores: Vec<u32> = members.iter().map(|p| p.score).collect();
        let ranks = competition_ranks(&scores);
        let mine = me.as_ref().filter(|p| p.team_id.as_ref() == Some(t)).map(|p| p.member_id.clone());
        let rows: Vec<(Standing, bool)> = members
            .iter()
            .zip(ranks)
            .map(|(p, r)| (member_row(&c, r, p), mine.as_ref() == Some(&p.member_id)))
            .collect();
        Some(("members", rows))
    } else if location.is_none() && c.mode == Mode::Team {
        let teams = crate::teams::standings(db, &c).await?;
        let mine = me.as_ref().and_then(|p| p.team_id.as_ref()).map(ToString::to_string);
        let rows = teams
            .into_iter()
            .map(|t| {
                let is_mine = mine.as_deref() == Some(t.id.as_str());
                let row = Standing {
                    rank: t.rank,
                    member: None,
                    team: Some(NamedRef { id: t.id, name: t.name }),
                    location: None,
                    value: t.value,
                    progress: c.progress(t.value),
                    members: Some(u64::from(t.members)),
                };
                (row, is_mine)
            })
            .collect();
        Some(("teams", rows))
    } else if location.is_none() && c.mode == Mode::Location {
        let names: Vec<Location> = locations::list(db, 100, None).await?.0;
        let mut locs = repo::location_standings(db, &c).await?;
        let value = |t: i64, n: i64| repo::standing_value(&c, t, n);
        locs.sort_by(|a, b| {
            let (va, vb) = (value(a.1, a.2).unwrap_or(f64::MIN), value(b.1, b.2).unwrap_or(f64::MIN));
            vb.total_cmp(&va).then(a.0.cmp(&b.0))
        });
        let keys: Vec<Option<i64>> = locs.iter().map(|l| value(l.1, l.2).map(|v| (v * 100.0).round() as i64)).collect();
        let ranks = competition_ranks(&keys);
        let mine = me.as_ref().and_then(|p| p.location_id.clone());
        let rows = locs
            .into_iter()
            .zip(ranks)
            .map(|((loc, total, counted, members), rank)| {
                let name = names.iter().find(|l| l.id == loc).map_or_else(|| loc.to_string(), |l| l.name.clone());
                let v = value(total, counted);
                let is_mine = mine.as_ref() == Some(&loc);
                let row = Standing {
                    rank,
                    member: None,
                    team: None,
                    location: Some(NamedRef { id: loc.to_string(), name }),
                    value: v,
                    progress: c.progress(v),
                    members: Some(members.max(0) as u64),
                };
                (row, is_mine)
            })
            .collect();
        Some(("locations", rows))
    } else {
        None
    };
    if let Some((board, rows)) = ranked_rows {
        let offset = match &cursor {
            None => 0,
            Some(c) => c.strip_prefix("o:").and_then(|n| n.parse::<usize>().ok()).ok_or_else(bad_cursor)?,
        };
        let total_participants = match board {
            "members" => rows.len() as u64,
            _ => repo::participant_count(db, &c).await?,
        };
        let mut my_position = None;
        let mut page = Vec::new();
        let count = rows.len();
        for (i, (row, mine)) in rows.into_iter().enumerate() {
            if mine {
                my_position = Some(Standing { ..clone_row(&row) });
            }
            if i >= offset && i < offset + limit {
                page.push(row);
            }
        }
        let next = (offset + limit < count).then(|| crate::encode_cursor(&format!("o:{}", offset + limit)));
        return Ok(Json(LeaderboardOut {
            challenge: summary(&c, now),
            board: board.into(),
            leaderboard: page,
            my_position,
            total_participants,
            has_more: next.is_some(),
            next_cursor: next,
        }));
    }

    // Members of the challenge or of one location: the sharded boards and rank trees.
    let board = match &location {
        Some(l) => l.to_string(),
        None => BOARD_ALL.to_owned(),
    };
    if let Some(cur) = &cursor
        && !is_board_sort_key(cur)
    {
        return Err(bad_cursor());
    }
    let (rows, next, total) = repo::leaderboard(db, &c, &board, limit, cursor.as_deref()).await?;
    let my_position = match &me {
        Some(p) if board == BOARD_ALL || p.location_id.as_ref().map(ToString::to_string).as_deref() == Some(&board) => {
            let (rank, _) = repo::rank_of(db, &c, &board, p).await?;
            Some(member_row(&c, rank, p))
        }
        _ => None,
    };
    let next = next.map(|k| crate::encode_cursor(&k));
    Ok(Json(LeaderboardOut {
        challenge: summary(&c, now),
        board: "members".into(),
        leaderboard: rows.iter().map(|r| member_row(&c, r.rank, &r.participant)).collect(),
        my_position,
        total_participants: total,
        has_more: next.is_some(),
        next_cursor: next,
    }))
}

fn clone_row(s: &Standing) -> Standing {
    Standing {
        rank: s.rank,
        member: s.member.as_ref().map(|m| MemberRef { id: m.id.clone(), display_name: m.display_name.clone() }),
        team: s.team.as_ref().map(|t| NamedRef { id: t.id.clone(), name: t.name.clone() }),
        location: s.location.as_ref().map(|t| NamedRef { id: t.id.clone(), name: t.name.clone() }),
        value: s.value,
        progress: s.progress,
        members: s.members,
    }
}
