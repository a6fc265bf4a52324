//! Wodify's search syntax (`q`): `field|operator|value` clauses joined by `;` (ANDed), and the
//! `sort` parameter (`field` ascending, `desc_field` descending). Values in single quotes are
//! strings; bare ones are numbers or dates.

use serde_json::Value;
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Number(f64),
    /// A bare value that is not a number (dates: `2026-09-01`).
    Bare(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq(Operand),
    Neq(Operand),
    Lt(Operand),
    Lte(Operand),
    Gt(Operand),
    Gte(Operand),
    Between(Operand, Operand),
    In(Vec<Operand>),
    NotIn(Vec<Operand>),
    IsNull,
    NotNull,
    Contains(String),
    StartsWith(String),
    EndsWith(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub field: String,
    pub op: Op,
}

/// Why a `q` was refused (the fake answers 400 with Wodify's error body).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryError(pub String);

fn operand(raw: &str) -> Operand {
    if let Some(s) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Operand::Text(s.to_string());
    }
    match raw.parse::<f64>() {
        Ok(n) => Operand::Number(n),
        Err(_) => Operand::Bare(raw.to_string()),
    }
}

fn quoted(raw: &str, op: &str) -> Result<String, QueryError> {
    raw.strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .map(str::to_string)
        .ok_or_else(|| QueryError(format!("operator {op} takes a quoted string ('x'), got {raw}")))
}

fn list(raw: &str) -> Result<Vec<Operand>, QueryError> {
    let inner = raw
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or_else(|| QueryError(format!("a list is written {{a,b}}, got {raw}")))?;
    Ok(inner.split(',').filter(|s| !s.is_empty()).map(operand).collect())
}

/// Parses a whole `q` value; `known` says which fields the resource can be searched on.
pub fn parse(q: &str, known: &dyn Fn(&str) -> bool) -> Result<Vec<Clause>, QueryError> {
    let mut clauses = Vec::new();
    for raw in q.split(';').filter(|c| !c.trim().is_empty()) {
        let parts: Vec<&str> = raw.split('|').collect();
        if parts.len() < 2 {
            return Err(QueryError(format!("a clause is field|operator|value, got {raw}")));
        }
        let field = parts[0].trim();
        if !known(field) {
            return Err(QueryError(format!("unknown search field {field}")));
        }
        let args = &parts[2..];
        let one = |name: &str| -> Result<&str, QueryError> {
            match args {
                [v] => Ok(v),
                _ => Err(QueryError(format!("operator {name} takes one value"))),
            }
        };
        let op = match parts[1] {
            "eq" => Op::Eq(operand(one("eq")?)),
            "neq" => Op::Neq(operand(one("neq")?)),
            "lt" => Op::Lt(operand(one("lt")?)),
            "lte" => Op::Lte(operand(one("lte")?)),
            "gt" => Op::Gt(operand(one("gt")?)),
            "gte" => Op::Gte(operand(one("gte")?)),
            "between" => match args {
                [a, b] => Op::Between(operand(a), operand(b)),
                _ => return Err(QueryError("operator between takes two values (f|between|a|b)".into())),
            },
            "in" => Op::In(list(one("in")?)?),
            "not_in" => Op::NotIn(list(one("not_in")?)?),
            "is_null" if args.is_empty() => Op::IsNull,
            "not_null" if args.is_empty() => Op::NotNull,
            "contains" => Op::Contains(quoted(one("contains")?, "contains")?),
            "starts_with" => Op::StartsWith(quoted(one("starts_with")?, "starts_with")?),
            "ends_with" => Op::EndsWith(quoted(one("ends_with")?, "ends_with")?),
            other => return Err(QueryError(format!("unknown operator {other}"))),
        };
        clauses.push(Clause { field: field.to_string(), op });
    }
    Ok(clauses)
}

/// A record's field by a dotted path (`updated.updated_on_datetime`).
pub fn field<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(record, |v, part| v.get(part))
}

fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn compare(v: &Value, o: &Operand) -> Option<Ordering> {
    match o {
        Operand::Number(n) => number_of(v).and_then(|x| x.partial_cmp(n)),
        Operand::Text(s) | Operand::Bare(s) => match v {
            Value::String(x) => Some(x.as_str().cmp(s.as_str())),
            Value::Bool(b) => Some(b.to_string().as_str().cmp(s.as_str())),
            _ => None,
        },
    }
}

fn is(v: Option<&Value>, o: &Operand, want: &[Ordering]) -> bool {
    v.and_then(|v| compare(v, o)).is_some_and(|c| want.contains(&c))
}

pub fn matches(record: &Value, clauses: &[Clause]) -> bool {
    clauses.iter().all(|c| {
        let v = field(record, &c.field).filter(|v| !v.is_null());
        let text = || v.and_then(Value::as_str).unwrap_or_default();
        match &c.op {
            Op::Eq(o) => is(v, o, &[Ordering::Equal]),
            Op::Neq(o) => !is(v, o, &[Ordering::Equal]),
            Op::Lt(o) => is(v, o, &[Ordering::Less]),
            Op::Lte(o) => is(v, o, &[Ordering::Less, Ordering::Equal]),
            Op::Gt(o) => is(v, o, &[Ordering::Greater]),
            Op::Gte(o) => is(v, o, &[Ordering::Greater, Ordering::Equal]),
            Op::Between(a, b) => {
                is(v, a, &[Ordering::Greater, Ordering::Equal]) && is(v, b, &[Ordering::Less, Ordering::Equal])
            }
            Op::In(list) => list.iter().any(|o| is(v, o, &[Ordering::Equal])),
            Op::NotIn(list) => !list.iter().any(|o| is(v, o, &[Ordering::Equal])),
            Op::IsNull => v.is_none(),
            Op::NotNull => v.is_some(),
            Op::Contains(s) => text().to_lowercase().contains(&s.to_lowercase()),
            Op::StartsWith(s) => text().to_lowercase().starts_with(&s.to_lowercase()),
            Op::EndsWith(s) => text().to_lowercase().ends_with(&s.to_lowercase()),
        }
    })
}

/// `sort=field` or `sort=desc_field`: the field and whether it is descending.
pub fn sort_of(sort: &str) -> (&str, bool) {
    match sort.strip_prefix("desc_") {
        Some(f) => (f, true),
        None => (sort, false),
    }
}

/// Orders records (given by their indices into `records`) by one field — numbers numerically,
/// the rest as text — id breaking ties.
pub fn order(records: &[Value], idx: &mut [usize], by: &str, descending: bool) {
    let key = |i: usize| field(&records[i], by).unwrap_or(&Value::Null);
    idx.sort_by(|&a, &b| {
        let (ka, kb) = (key(a), key(b));
        let primary = match (number_of(ka), number_of(kb)) {
            (Some(x), Some(y)) if !ka.is_string() || !kb.is_string() || by == "id" => {
                x.partial_cmp(&y).unwrap_or(Ordering::Equal)
            }
            _ => ka.as_str().unwrap_or_default().cmp(kb.as_str().unwrap_or_default()),
        };
        let primary = if descending { primary.reverse() } else { primary };
        primary.then_with(|| {
            number_of(&records[a]["id"]).partial_cmp(&number_of(&records[b]["id"])).unwrap_or(Ordering::Equal)
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all(_: &str) -> bool {
        true
    }

    #[test]
    fn clauses_and_values() {
        let q = parse("payment_due|gte|2026-09-01;coach|eq|'Jane Doe';id|in|{1,2};x|is_null;", &all).unwrap();
        assert_eq!(q.len(), 4);
        assert_eq!(q[0].op, Op::Gte(Operand::Bare("2026-09-01".into())));
        assert_eq!(q[1].op, Op::Eq(Operand::Text("Jane Doe".into())));
        assert_eq!(q[2].op, Op::In(vec![Operand::Number(1.0), Operand::Number(2.0)]));
        assert_eq!(q[3].op, Op::IsNull);
        assert!(parse("id|like|3", &all).is_err());
        assert!(parse("nope|eq|3", &|f| f == "id").is_err());
        assert!(parse("name|contains|x", &all).is_err(), "contains takes a quoted string");
    }

    #[test]
    fn evaluation() {
        let r =
            json!({"id": 7, "client_id": "12", "local_class_start_datetime": "2026-09-30T18:00:00", "name": "Anna"});
        let t = |q: &str| matches(&r, &parse(q, &all).unwrap());
        assert!(t("id|gt|0"));
        assert!(t("client_id|eq|12"), "ids sent as strings compare as numbers");
        assert!(t("local_class_start_datetime|lt|2026-10-01"));
        assert!(!t("local_class_start_datetime|gte|2026-10-01"));
        assert!(t("local_class_start_datetime|between|2026-09-01|2026-10-01"));
        assert!(t("name|starts_with|'an'"));
        assert!(t("missing|is_null"));
        assert!(t("id|not_in|{1,2}"));
    }
}
