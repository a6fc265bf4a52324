//! Raw Wodify records → canonical rows, deterministically: the same record always gives the
//! same row, so re-running any window writes nothing new. Wodify's quirks are absorbed here:
//! ids as numbers or numeric strings, the `1900-01-01` "no date" sentinel, dates with or without
//! a time, `created_on` vs `created`, renewal ids of 0 for "none", negative refunds.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use iron_domain::Id;
use iron_domain::sync::{
    Attendance, Billing, CanonicalMember, Invoice, Membership, NamedRecord, Transaction, TransactionKind,
};
use serde_json::{Map, Value, json};

/// An id as Wodify sends it (a number or a numeric string); 0 and blanks are "none".
pub fn id_of(v: &Value) -> Option<String> {
    let s = match v {
        Value::Number(n) => n.as_u64()?.to_string(),
        Value::String(s) => s.trim().parse::<u64>().ok()?.to_string(),
        _ => return None,
    };
    (s != "0").then_some(s)
}

/// A date-only or date-time field, its date; the sentinel year 1900 is "no date".
pub fn date_of(v: &Value) -> Option<NaiveDate> {
    let s = v.as_str()?.trim();
    let day = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
    (day > NaiveDate::from_ymd_opt(1900, 12, 31)?).then_some(day)
}

/// A wall-clock date-time (`2026-11-03T17:00:00`, `Z` or not), or a bare date at midnight.
pub fn datetime_of(v: &Value) -> Option<NaiveDateTime> {
    let s = v.as_str()?.trim().trim_end_matches('Z');
    let at = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
        .ok()
        .or_else(|| date_of(v).and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    (at.date() > NaiveDate::from_ymd_opt(1900, 12, 31)?).then_some(at)
}

fn money(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The `updated_on_datetime` of a record, when it has one (the source updated-at).
pub fn source_updated_at(v: &Value) -> Option<String> {
    v.pointer("/updated/updated_on_datetime").and_then(Value::as_str).map(str::to_string)
}

pub fn location(v: &Value, run: &Id, mapped: Option<Id>) -> Option<NamedRecord> {
    Some(NamedRecord {
        external_id: id_of(&v["id"])?,
        name: text(&v["name"]).unwrap_or_default(),
        active: true,
        location_id: mapped,
        run_id: run.clone(),
    })
}

pub fn program(v: &Value, run: &Id) -> Option<NamedRecord> {
    Some(NamedRecord {
        external_id: id_of(&v["id"])?,
        name: text(&v["name"]).unwrap_or_default(),
        active: v["is_active"].as_bool().unwrap_or(true),
        location_id: None,
        run_id: run.clone(),
    })
}

/// A client: the gym-level member row, and the athlete fields (for `apply_fields`). The detail
/// shape carries `status_history`, from which the cancellation date comes (the last
/// Active → Inactive change of an inactive client).
pub fn client(v: &Value, run: &Id, location_id: Option<&Id>) -> Option<(CanonicalMember, Map<String, Value>)> {
    let external_id = id_of(&v["id"])?;
    let active = v["client_status"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("active"));
    let cancelled_on = if active {
        None
    } else {
        v["status_history"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|h| h["to_status"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("inactive")))
            .filter_map(|h| {
                let at = h["status_change_datetime"].as_str()?;
                DateTime::parse_from_rfc3339(at)
                    .ok()
                    .map(|t| t.with_timezone(&Utc).date_naive())
                    .or_else(|| date_of(&h["status_change_datetime"]))
            })
            .max()
    };
    let joined_on = date_of(&v["member_since"]);
    let member = CanonicalMember {
        external_id: external_id.clone(),
        athlete_id: None,
        active,
        joined_on,
        cancelled_on,
        location_external_id: id_of(&v["location_id"]),
        run_id: run.clone(),
    };
    let mut fields = Map::new();
    fields.insert("firstName".into(), json!(text(&v["first_name"]).unwrap_or_else(|| "(no first name)".into())));
    fields.insert("lastName".into(), json!(text(&v["last_name"]).unwrap_or_else(|| "(no last name)".into())));
    fields.insert("email".into(), text(&v["email"]).map_or(Value::Null, Value::String));
    let phone = text(&v["phone_number"]).filter(|p| p.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)));
    fields.insert("phone".into(), phone.map_or(Value::Null, Value::String));
    fields.insert("birthDate".into(), date_of(&v["date_of_birth"]).map_or(Value::Null, |d| json!(d.to_string())));
    fields.insert("joinedOn".into(), joined_on.map_or(Value::Null, |d| json!(d.to_string())));
    let sex = match v["gender"].as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("female") => "female",
        Some("male") => "male",
        Some("") | None => "undisclosed",
        Some(_) => "other",
    };
    fields.insert("sex".into(), json!(sex));
    fields.insert("status".into(), json!(if active { "active" } else { "inactive" }));
    fields.insert("locationId".into(), location_id.map_or(Value::Null, |l| json!(l.as_str())));
    fields.insert("externalId".into(), json!(external_id));
    Some((member, fields))
}

fn commitment_months(plan: &Value) -> f64 {
    let n = money(&plan["initial_commitment_length"]).max(1.0);
    match plan["initial_commitment_time_unit"].as_str().unwrap_or_default() {
        u if u.starts_with("Year") => n * 12.0,
        // Four places: a stored row compares equal to the same record transformed again.
        u if u.starts_with("Week") => (n * 12.0 / 52.0 * 10_000.0).round() / 10_000.0,
        _ => n,
    }
}

/// A membership row (the detail shape carries `membership_holds`). Its chain starts as itself;
/// [`chain_roots`] links renewals once every row is known.
pub fn membership(v: &Value, run: &Id) -> Option<Membership> {
    let external_id = id_of(&v["id"])?;
    let member_external_id = id_of(&v["client_id"])?;
    let start = date_of(&v["start_date"])?;
    let renewed_from = id_of(&v["renewed_from_membership_id"]);
    let plan = &v["payment_plan"];
    let (option, price) = if renewed_from.is_some() {
        (
            &plan["renewal_payment_option"]["renewal_payment_option_type"],
            money(&plan["renewal_payment_option"]["renewal_cost"]),
        )
    } else {
        (
            &plan["initial_payment_option"]["initial_payment_option_type"],
            money(&plan["initial_payment_option"]["initial_cost"]),
        )
    };
    let billing = match option.as_str().unwrap_or_default() {
        "Monthly" => Billing::Monthly,
        "Weekly" => Billing::Weekly,
        _ => Billing::PaidInFull,
    };
    let mut holds: Vec<(NaiveDate, NaiveDate)> = v["membership_holds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| Some((date_of(&h["start_date"])?, date_of(&h["end_date"])?)))
        .filter(|(a, b)| a < b)
        .collect();
    holds.sort();
    Some(Membership {
        chain: external_id.clone(),
        external_id,
        member_external_id,
        name: text(&v["name"]).unwrap_or_default(),
        kind: text(&v["membership_type"]).unwrap_or_default(),
        start,
        end: date_of(&v["end_date"]),
        renewed_from,
        holds,
        billing,
        price,
        commitment_months: commitment_months(plan),
        deleted: v["is_deleted"].as_bool().unwrap_or(false),
        run_id: run.clone(),
    })
}

/// Each membership's chain: the first row reached by following `renewed_from` (a predecessor
/// not synced, or a loop, ends the walk).
pub fn chain_roots(rows: &mut [Membership]) {
    let parent: std::collections::HashMap<String, Option<String>> =
        rows.iter().map(|m| (m.external_id.clone(), m.renewed_from.clone())).collect();
    for m in rows.iter_mut() {
        let mut root = m.external_id.clone();
        let mut steps = 0;
        while let Some(Some(p)) = parent.get(&root) {
            if !parent.contains_key(p) || steps > parent.len() {
                break;
            }
            root = p.clone();
            steps += 1;
        }
        m.chain = root;
    }
}

pub fn sign_in(v: &Value, run: &Id) -> Option<Attendance> {
    Some(Attendance {
        external_id: id_of(&v["id"])?,
        member_external_id: id_of(&v["client_id"])?,
        class_start: datetime_of(&v["local_class_start_datetime"])?,
        program_external_id: id_of(&v["program_id"]),
        location_external_id: id_of(&v["location_id"]),
        membership_external_id: id_of(&v["membership_id"]),
        drop_in: v["is_drop_in"].as_bool().unwrap_or(false),
        run_id: run.clone(),
    })
}

pub fn invoice(v: &Value, run: &Id) -> Option<Invoice> {
    Some(Invoice {
        external_id: id_of(&v["id"])?,
        member_external_id: id_of(&v["client_id"]),
        due: date_of(&v["payment_due"])?,
        status: text(&v["invoice_header_status"]).unwrap_or_default(),
        charge: money(&v["final_charge"]),
        paid: money(&v["paid_amount"]),
        // Negative as sent; a positive one is a sign slip, made negative.
        refunded: -money(&v["final_refunded_amount"]).abs(),
        run_id: run.clone(),
    })
}

pub fn transaction(v: &Value, run: &Id) -> Option<Transaction> {
    let kind = match v["transaction_type"].as_str().unwrap_or_default() {
        "Refund" => TransactionKind::Refund,
        _ => TransactionKind::Payment,
    };
    let amount = money(&v["amount"]);
    Some(Transaction {
        external_id: id_of(&v["id"])?,
        member_external_id: id_of(&v["client_id"]),
        invoice_external_id: id_of(&v["invoice_id"]),
        at: datetime_of(&v["transaction_datetime"])?,
        amount: if kind == TransactionKind::Refund { -amount.abs() } else { amount },
        kind,
        succeeded: v["status"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("succeeded")),
        run_id: run.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Id {
        Id::from_parts(iron_domain::IdKind::SyncRun, 1, [0; 10])
    }

    #[test]
    fn quirks_are_absorbed() {
        assert_eq!(id_of(&json!("2400032")), Some("2400032".into()));
        assert_eq!(id_of(&json!(2400032)), Some("2400032".into()));
        assert_eq!(id_of(&json!(0)), None);
        assert_eq!(date_of(&json!("1900-01-01")), None);
        assert_eq!(date_of(&json!("1900-01-01T00:00:00")), None);
        assert_eq!(date_of(&json!("2023-04-01T00:00:00")), NaiveDate::from_ymd_opt(2023, 4, 1));
        assert!(datetime_of(&json!("2026-11-03T17:00:00")).is_some());
        assert!(datetime_of(&json!("2026-11-03T17:00:00Z")).is_some());
    }

    #[test]
    fn a_cancelled_client_has_its_cancellation_date() {
        let v = json!({
            "id": 5, "first_name": "Zoë", "last_name": "Brontë", "email": "Zoe@Example.com", "client_status": "Inactive",
            "member_since": "2024-01-05T00:00:00", "date_of_birth": "1900-01-01", "gender": "Female", "phone_number": "+1 312 555 0101",
            "status_history": [
                {"from_status": "Inactive", "to_status": "Active", "status_change_datetime": "2024-01-05T15:00:00Z"},
                {"from_status": "Active", "to_status": "Inactive", "status_change_datetime": "2026-10-15T18:30:00Z"}
            ]
        });
        let (m, fields) = client(&v, &run(), None).expect("client");
        assert!(!m.active);
        assert_eq!(m.cancelled_on, NaiveDate::from_ymd_opt(2026, 10, 15));
        assert_eq!(m.joined_on, NaiveDate::from_ymd_opt(2024, 1, 5));
        assert_eq!(fields["birthDate"], Value::Null);
        assert_eq!(fields["sex"], "female");
    }

    #[test]
    fn renewals_chain_and_price_at_renewal_cost() {
        let plan = json!({"initial_commitment_length": 12, "initial_commitment_time_unit": "Month(s)",
            "initial_payment_option": {"initial_payment_option_type": "Monthly", "initial_cost": 169},
            "renewal_payment_option": {"renewal_payment_option_type": "Monthly", "renewal_cost": 159}});
        let first = json!({"id": 1, "client_id": 9, "start_date": "2024-01-01", "end_date": "2025-01-01", "renewed_from_membership_id": 0, "payment_plan": plan});
        let second = json!({"id": 2, "client_id": "9", "start_date": "2025-01-01", "end_date": "2026-01-01", "renewed_from_membership_id": "1", "payment_plan": plan,
            "membership_holds": [{"start_date": "2025-03-01", "end_date": "2025-03-20"}]});
        let third = json!({"id": 3, "client_id": 9, "start_date": "2026-01-01", "end_date": "2027-01-01", "renewed_from_membership_id": 2, "payment_plan": plan});
        let mut rows: Vec<Membership> = [first, second, third].iter().filter_map(|v| membership(v, &run())).collect();
        chain_roots(&mut rows);
        assert!(rows.iter().all(|m| m.chain == "1"));
        assert_eq!((rows[0].price, rows[1].price), (169.0, 159.0));
        assert_eq!(rows[1].holds.len(), 1);
        assert!(!rows[1].active_on(NaiveDate::from_ymd_opt(2025, 3, 10).expect("d")));
    }

    #[test]
    fn refunds_are_negative() {
        let t = transaction(&json!({"id": 1, "transaction_type": "Refund", "amount": 50, "status": "Succeeded", "transaction_datetime": "2026-10-02T10:00:00"}), &run()).expect("t");
        assert_eq!(t.amount, -50.0);
        let i = invoice(&json!({"id": 2, "payment_due": "2026-10-01", "final_refunded_amount": -80, "paid_amount": 160, "final_charge": 160}), &run()).expect("i");
        assert_eq!(i.refunded, -80.0);
    }
}
