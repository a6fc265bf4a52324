//! `GET /audit-log` (scope `read:audit`): the business's own record of authenticated requests.

use axum::Json;
use iron_domain::{AuditRecord, IdKind, Scope};
use iron_http::{ApiError, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::audit::{self, AuditFilter};

/// A class of response statuses (the `statusClass` filter).
#[derive(Debug, Clone, Copy, utoipa::ToSchema)]
#[allow(dead_code)]
pub enum StatusClass {
    #[schema(rename = "2xx")]
    Success,
    #[schema(rename = "3xx")]
    Redirect,
    #[schema(rename = "4xx")]
    ClientError,
    #[schema(rename = "5xx")]
    ServerError,
}

/// Read the audit log
///
/// Newest first. Each record: time, key id (never the key), method, route template and path,
/// status, latency, client IP, user agent and request id. Kept 90 days by default.
#[utoipa::path(get, path = "/api/external/v1/audit-log", operation_id = "listAuditLog", tag = "audit",
    params(
        ("from" = Option<String>, Query, format = DateTime, description = "Records at or after this RFC 3339 time."),
        ("to" = Option<String>, Query, format = DateTime, description = "Records at or before this RFC 3339 time."),
        ("keyId" = Option<String>, Query, pattern = "^key_[0-9A-HJKMNP-TV-Z]{26}$", description = "Only requests made with this key (`key_…`)."),
        ("statusClass" = inline(Option<StatusClass>), Query, description = "`2xx`, `3xx`, `4xx` or `5xx`."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page, unchanged (with the same filters)."),
    ),
    responses((status = 200, description = "A page of records", body = ListEnvelope<AuditRecord>),
              (status = 403, description = "The key lacks `read:audit`", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(principal: Principal, params: QueryParams) -> Result<Json<ListEnvelope<AuditRecord>>, ApiError> {
    let tenant = principal.require(Scope::ReadAudit)?;
    params.allow(&["from", "to", "keyId", "statusClass", "limit", "cursor"])?;
    let status_class = params.parsed(
        "statusClass",
        |v| ["1xx", "2xx", "3xx", "4xx", "5xx"].contains(&v).then(|| v.to_owned()),
        "one of `2xx`, `3xx`, `4xx`, `5xx`",
    )?;
    let filter = AuditFilter {
        from: params.timestamp("from")?,
        to: params.timestamp("to")?,
        key_id: params.id("keyId", IdKind::ApiKey)?,
        status_class,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ApiError::BadParameter { param: "from".into(), detail: "is after `to`".into() });
    }
    let page = PageParams::from_query(&params)?;
    if page.cursor.as_ref().is_some_and(|c| !c.fits(filter.index())) {
        return Err(PageParams::mismatched_cursor());
    }
    let (records, next) = audit::list(tenant.db(), &filter, page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(records, next)))
}
