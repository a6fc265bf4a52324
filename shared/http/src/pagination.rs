//! Cursor pagination: `limit` (1–100, default 25) and an opaque `cursor`; responses carry
//! `data`, `hasMore` and `nextCursor`.

use crate::error::ApiError;
use crate::params::QueryParams;
use iron_store::Cursor;
use serde::Serialize;

pub const DEFAULT_LIMIT: u32 = 25;
pub const MAX_LIMIT: u32 = 100;

#[derive(Debug, Clone)]
pub struct PageParams {
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

impl PageParams {
    pub fn from_query(params: &QueryParams) -> Result<PageParams, ApiError> {
        let limit = params.uint("limit", 1, MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT) as usize;
        let cursor = match params.str("cursor") {
            None => None,
            Some(raw) => Some(Cursor::decode(raw).ok_or_else(|| ApiError::BadParameter {
                param: "cursor".into(),
                detail: "is not a cursor this API issued; pass `nextCursor` from the previous page unchanged".into(),
            })?),
        };
        Ok(PageParams { limit, cursor })
    }

    /// The error for a cursor issued for a different set of filters.
    pub fn mismatched_cursor() -> ApiError {
        ApiError::BadParameter {
            param: "cursor".into(),
            detail: "belongs to a listing with other filters; keep the filters unchanged while paging".into(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListEnvelope<T> {
    pub data: Vec<T>,
    pub has_more: bool,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> ListEnvelope<T> {
    pub fn new(data: Vec<T>, next: Option<Cursor>) -> ListEnvelope<T> {
        ListEnvelope { data, has_more: next.is_some(), next_cursor: next.map(|c| c.encode()) }
    }
}
