//! The challenges endpoint group: challenges (`/challenges`, `manage:challenges` to change,
//! `read:challenges` to read), their teams, joins and entries (`write:challenges`), exact
//! leaderboards and a member's progress (`read:challenges`), and members' badges
//! (`/members/{id}/badges`). The rules are `iron_domain::challenge`'s; the storage and the rank
//! trees are `iron_store::repo::challenges`'.

pub mod badges;
pub mod challenges;
pub mod entries;
pub mod leaderboard;
pub mod participants;
pub mod teams;

use iron_domain::challenge::Challenge;
use iron_domain::{Id, IdKind};
use iron_http::{ApiContext, ApiError, authed};
use iron_store::TenantDb;
use iron_store::repo::{RepoError, athletes, challenges as repo};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes(api: ApiContext) -> OpenApiRouter {
    let group = OpenApiRouter::new()
        .routes(authed(&api, routes!(challenges::list, challenges::create)))
        .routes(authed(&api, routes!(challenges::get_one, challenges::replace, challenges::delete)))
        .routes(authed(&api, routes!(teams::list, teams::create)))
        .routes(authed(&api, routes!(participants::join)))
        .routes(authed(&api, routes!(participants::my_progress)))
        .routes(authed(&api, routes!(entries::list, entries::create)))
        .routes(authed(&api, routes!(entries::delete)))
        .routes(authed(&api, routes!(leaderboard::leaderboard)))
        .routes(authed(&api, routes!(badges::list)))
        .with_state(api.clone());
    iron_http::api_group(&api, group)
}

/// The challenge a path names, if it is one of this business's.
pub(crate) async fn challenge(db: TenantDb<'_>, raw: &str) -> Result<Challenge, ApiError> {
    let id: Id = iron_http::path_id(IdKind::Challenge, raw, "challenge")?;
    match repo::get(db, &id).await {
        Err(RepoError::NotFound) => Err(ApiError::NotFound(format!("no challenge `{raw}` in this business"))),
        other => Ok(other?),
    }
}

/// The member a body names, if it is one of this business's (else 404, as for a path id).
pub(crate) async fn member(db: TenantDb<'_>, id: &Id) -> Result<iron_domain::Athlete, ApiError> {
    match athletes::get(db, id).await {
        Err(RepoError::NotFound) => Err(ApiError::NotFound(format!("no member `{id}` in this business"))),
        other => Ok(other?),
    }
}

/// The member id of a body's `memberId`, looked up first: an unknown member is 404 before any
/// rule about the rest of the body.
pub(crate) async fn body_member(
    db: TenantDb<'_>,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<iron_domain::Athlete>, ApiError> {
    match body.get("memberId").map(member_id) {
        Some(Ok(id)) => Ok(Some(member(db, &id).await?)),
        _ => Ok(None),
    }
}

/// A member id from a body field.
pub(crate) fn member_id(v: &serde_json::Value) -> Result<Id, String> {
    v.as_str().and_then(|s| Id::parse_kind(IdKind::Athlete, s)).ok_or_else(|| "must be a member id (`ath_…`)".into())
}

/// A leaderboard or listing cursor of this group: `lb_` + the base64url of a position.
pub(crate) fn encode_cursor(position: &str) -> String {
    use base64::Engine;
    format!("lb_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(position))
}

pub(crate) fn decode_cursor(raw: &str) -> Option<String> {
    use base64::Engine;
    let body = raw.strip_prefix("lb_")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).ok()?;
    String::from_utf8(bytes).ok()
}
