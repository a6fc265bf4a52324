//! Query-string parsing that names the parameter at fault, and refuses unknown parameters (a
//! typo such as `updated_since` would otherwise silently return unfiltered data).

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDate, Utc};
use iron_domain::{Id, IdKind};
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone)]
pub struct QueryParams(BTreeMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        QueryParams::parse(parts.uri.query().unwrap_or_default())
    }
}

fn bad(param: &str, detail: impl Into<String>) -> ApiError {
    ApiError::BadParameter { param: param.to_owned(), detail: detail.into() }
}

impl QueryParams {
    pub fn parse(query: &str) -> Result<QueryParams, ApiError> {
        let mut map = BTreeMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                let s = s.replace('+', " ");
                percent_decode(&s).ok_or_else(|| bad(k, "is not valid percent-encoded UTF-8"))
            };
            let (k, v) = (decode(k)?, decode(v)?);
            if map.insert(k.clone(), v).is_some() {
                return Err(bad(&k, "is given more than once"));
            }
        }
        Ok(QueryParams(map))
    }

    /// Refuses any parameter not in `known`.
    pub fn allow(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(bad(k, format!("is not a parameter of this endpoint; known: {}", known.join(", ")))),
            None => Ok(()),
        }
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn string(&self, name: &str, max_len: usize) -> Result<Option<String>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) if v.chars().count() > max_len => Err(bad(name, format!("must be at most {max_len} characters"))),
            Some(v) => Ok(Some(v.to_owned())),
        }
    }

    pub fn uint(&self, name: &str, min: u32, max: u32) -> Result<Option<u32>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(bad(name, format!("must be a whole number from {min} to {max}, not `{v}`"))),
            },
        }
    }

    pub fn id(&self, name: &str, kind: IdKind) -> Result<Option<Id>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => Id::parse_kind(kind, v)
                .map(Some)
                .ok_or_else(|| bad(name, format!("must be an id starting with `{}_`, not `{v}`", kind.prefix()))),
        }
    }

    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| bad(name, format!("must be a date as YYYY-MM-DD, not `{v}`"))),
        }
    }

    /// An RFC 3339 timestamp (a bare date means its midnight UTC).
    pub fn timestamp(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    NaiveDate::parse_from_str(v, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
                })
                .map(Some)
                .map_err(|_| {
                    bad(name, format!("must be an RFC 3339 timestamp such as 2026-11-01T00:00:00Z, not `{v}`"))
                }),
        }
    }

    pub fn parsed<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => parse(v).map(Some).ok_or_else(|| bad(name, format!("must be {expected}, not `{v}`"))),
        }
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_bad_parameters() {
        let p = QueryParams::parse("q=Jos%C3%A9+N&limit=25&dateFrom=2026-02-29").unwrap();
        assert_eq!(p.str("q"), Some("José N"));
        assert_eq!(p.uint("limit", 1, 100).unwrap(), Some(25));
        let err = p.date("dateFrom").unwrap_err().to_string();
        assert!(err.contains("dateFrom"), "{err}");
        assert!(p.allow(&["q", "limit"]).unwrap_err().to_string().contains("dateFrom"));
        assert!(QueryParams::parse("limit=1&limit=2").is_err());
        assert!(QueryParams::parse("q=%ZZ").is_err());
        assert!(QueryParams::parse("limit=101").unwrap().uint("limit", 1, 100).is_err());
    }
}
