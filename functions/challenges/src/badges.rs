//! `/members/{id}/badges`: the badges a member was awarded by reaching challenges' targets.

use crate::challenges::READ;
use axum::Json;
use axum::extract::Path;
use chrono::{DateTime, Utc};
use iron_domain::challenge::Badge;
use iron_domain::{Id, IdKind};
use iron_http::{ApiError, Principal};
use iron_store::repo::challenges as repo;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BadgeOut {
    pub challenge_id: String,
    pub challenge_name: String,
    pub badge: Badge,
    pub awarded_at: DateTime<Utc>,
    /// The value that reached the target.
    pub value: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BadgeList {
    pub data: Vec<BadgeOut>,
}

/// List a member's badges
///
/// Newest challenge first.
#[utoipa::path(get, path = "/api/external/v1/members/{id}/badges", operation_id = "listMemberBadges", tag = "challenges",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)")),
    responses((status = 200, description = "The member's badges", body = BadgeList),
              (status = 404, description = "No such member in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(principal: Principal, Path(id): Path<String>) -> Result<Json<BadgeList>, ApiError> {
    let tenant = principal.require_any(READ)?;
    let member: Id = iron_http::path_id(IdKind::Athlete, &id, "member")?;
    match iron_store::repo::athletes::get(tenant.db(), &member).await {
        Err(iron_store::repo::RepoError::NotFound) => {
            return Err(ApiError::NotFound(format!("no member `{id}` in this business")));
        }
        other => drop(other?),
    }
    let data = repo::badges(tenant.db(), &member)
        .await?
        .into_iter()
        .map(|a| BadgeOut {
            challenge_id: a.challenge_id.to_string(),
            challenge_name: a.challenge_name,
            badge: a.badge,
            awarded_at: a.awarded_at,
            value: a.value,
        })
        .collect();
    Ok(Json(BadgeList { data }))
}
