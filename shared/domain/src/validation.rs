//! Validation errors carry every offending field, so an integrator can fix a payload in one go.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// The parameter or JSON pointer at fault (`limit`, `/email`).
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} invalid field(s): {}", .errors.len(), .errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct ValidationError {
    pub errors: Vec<FieldError>,
}

impl ValidationError {
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError { errors: vec![FieldError { field: field.into(), message: message.into() }] }
    }
}

/// Reads a JSON object field by field, collecting every problem instead of stopping at the first
/// (the way every resource of the API validates a body). Field names in errors are JSON pointers
/// under `prefix` (`/movements/2/reps`).
pub struct FieldReader<'a> {
    body: &'a serde_json::Map<String, serde_json::Value>,
    prefix: String,
    pub errors: Vec<FieldError>,
}

use serde_json::Value;

impl<'a> FieldReader<'a> {
    /// A reader of `body` that refuses any field not in `known`, naming them.
    pub fn new(body: &'a serde_json::Map<String, Value>, prefix: &str, what: &str, known: &[&str]) -> Self {
        let mut reader = FieldReader { body, prefix: prefix.to_owned(), errors: Vec::new() };
        for key in body.keys().filter(|k| !known.contains(&k.as_str())) {
            let message = format!("is not a field of {what}; fields: {}", known.join(", "));
            reader.fail(key, message);
        }
        reader
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError { field: format!("{}/{field}", self.prefix), message: message.into() });
    }

    pub fn has(&self, field: &str) -> bool {
        self.body.contains_key(field)
    }

    /// The value of a field that must be present and not null.
    pub fn required<T>(&mut self, field: &str, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<T> {
        match self.body.get(field) {
            None => {
                self.fail(field, "is required");
                None
            }
            Some(Value::Null) => {
                self.fail(field, "can't be null");
                None
            }
            Some(v) => self.parse(field, v, parse),
        }
    }

    /// `None` when absent, `Some(None)` when null, `Some(Some(v))` when set.
    pub fn optional<T>(&mut self, field: &str, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<Option<T>> {
        match self.body.get(field) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(v) => self.parse(field, v, parse).map(Some),
        }
    }

    /// A field that may be left out but not set to null.
    pub fn present<T>(&mut self, field: &str, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<T> {
        match self.body.get(field) {
            None => None,
            Some(Value::Null) => {
                self.fail(field, "can't be null");
                None
            }
            Some(v) => self.parse(field, v, parse),
        }
    }

    fn parse<T>(&mut self, field: &str, v: &Value, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<T> {
        match parse(v) {
            Ok(t) => Some(t),
            Err(message) => {
                self.fail(field, message);
                None
            }
        }
    }

    /// The pointer of a nested field, for a nested reader's prefix.
    pub fn pointer(&self, field: &str) -> String {
        format!("{}/{field}", self.prefix)
    }

    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() { Ok(()) } else { Err(self.errors) }
    }
}

/// Parsers for [`FieldReader`]: each says what it expected.
pub mod parse {
    use chrono::{DateTime, NaiveDate, Utc};
    use serde_json::Value;

    pub fn text(max: usize) -> impl FnOnce(&Value) -> Result<String, String> {
        move |v| match v {
            Value::String(s) if !s.trim().is_empty() && s.trim().chars().count() <= max => Ok(s.trim().to_owned()),
            Value::String(_) => Err(format!("must be 1 to {max} characters")),
            _ => Err("must be a string".into()),
        }
    }

    /// A whole number in `min..=max` (`3.0` is accepted as 3; `3.5` is not).
    pub fn int(min: i64, max: i64) -> impl FnOnce(&Value) -> Result<i64, String> {
        move |v| {
            let n = v.as_i64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64));
            match n {
                Some(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(format!("must be a whole number from {min} to {max}")),
            }
        }
    }

    pub fn number(min: f64, max: f64) -> impl FnOnce(&Value) -> Result<f64, String> {
        move |v| match v.as_f64() {
            Some(n) if n.is_finite() && n >= min && n <= max => Ok(n),
            _ => Err(format!("must be a number from {min} to {max}")),
        }
    }

    pub fn date(min: NaiveDate, max: NaiveDate) -> impl FnOnce(&Value) -> Result<NaiveDate, String> {
        move |v| match v.as_str().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()) {
            Some(d) if d >= min && d <= max => Ok(d),
            Some(_) => Err(format!("must be between {min} and {max}")),
            None => Err("must be a date as YYYY-MM-DD".into()),
        }
    }

    /// An RFC 3339 timestamp in `min..=max`, kept to the millisecond.
    pub fn timestamp(min: DateTime<Utc>, max: DateTime<Utc>) -> impl FnOnce(&Value) -> Result<DateTime<Utc>, String> {
        move |v| match v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
            Some(t) => {
                let t = t.with_timezone(&Utc);
                let t = DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t);
                if t < min || t > max {
                    Err(format!("must be between {} and {}", min.to_rfc3339(), max.to_rfc3339()))
                } else {
                    Ok(t)
                }
            }
            None => Err("must be an RFC 3339 timestamp such as 2026-11-30T18:05:00Z".into()),
        }
    }

    /// One of a serde enum's wire names; `known` lists them for the message.
    pub fn one_of<T: serde::de::DeserializeOwned>(known: &str) -> impl FnOnce(&Value) -> Result<T, String> + '_ {
        move |v| serde_json::from_value(v.clone()).map_err(|_| format!("must be one of {known}"))
    }

    pub fn object(v: &Value) -> Result<serde_json::Map<String, Value>, String> {
        v.as_object().cloned().ok_or_else(|| "must be an object".into())
    }

    pub fn array(max: usize) -> impl FnOnce(&Value) -> Result<Vec<Value>, String> {
        move |v| match v.as_array() {
            Some(a) if a.len() <= max => Ok(a.clone()),
            Some(_) => Err(format!("may hold at most {max} entries")),
            None => Err("must be an array".into()),
        }
    }
}
