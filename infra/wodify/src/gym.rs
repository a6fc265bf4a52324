//! A gym generated from a seed: locations, programs, classes, clients with status histories,
//! memberships in renewal chains with holds, class sign-ins, invoices with refunds, payment
//! transactions and leads — in Wodify's shapes and with its quirks (`1900-01-01` sentinels, ids
//! sometimes sent as strings, mixed date formats, negative refunds). The same seed, size and
//! day always give the same gym.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GymSpec {
    pub seed: u64,
    pub clients: usize,
    /// The gym's "today": history runs up to the day before.
    pub today: NaiveDate,
    /// Months of sign-ins, invoices and transactions before `today`.
    pub months: u32,
}

impl Default for GymSpec {
    fn default() -> GymSpec {
        GymSpec { seed: 7, clients: 1000, today: NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date"), months: 26 }
    }
}

/// The generated records, by resource, each list ordered by id.
#[derive(Debug, Clone, Default)]
pub struct Gym {
    pub locations: Vec<Value>,
    pub programs: Vec<Value>,
    pub classes: Vec<Value>,
    pub statuses: Vec<Value>,
    /// List shape (no `status_history`).
    pub clients: Vec<Value>,
    /// Detail shape, same order as `clients`.
    pub client_details: Vec<Value>,
    /// List shape (no `membership_holds`).
    pub memberships: Vec<Value>,
    pub membership_details: Vec<Value>,
    pub sign_ins: Vec<Value>,
    pub invoices: Vec<Value>,
    pub transactions: Vec<Value>,
    pub leads: Vec<Value>,
    /// Next ids for records added later (edits "in the past").
    pub next_id: u64,
}

const FIRST: &[&str] = &[
    "María José",
    "Lucía",
    "Zoë",
    "Siobhán",
    "Małgorzata",
    "Chloé",
    "Ana Sofía",
    "Léa",
    "Priya",
    "Yuki",
    "Renée",
    "Noémie",
    "Sigríður",
    "Thảo",
    "Emma",
    "Grace",
    "Inés",
    "Astrid",
    "José Luis",
    "Ángel",
    "Søren",
    "Łukasz",
    "François",
    "Jürgen",
    "Mateo",
    "Kenji",
    "Oisín",
    "Tomás",
    "Björn",
    "Dmitri",
    "Liam",
    "Noah",
    "Ethan",
    "Rafael",
];
const LAST: &[&str] = &[
    "García",
    "Müller",
    "O'Brien",
    "Nguyễn",
    "Kowalski",
    "Søndergaard",
    "Dubois",
    "Rossi",
    "Smith",
    "Johnson",
    "Fernández",
    "Yamamoto",
    "Ó Súilleabháin",
    "Novák",
    "Peña",
    "Åberg",
    "Brontë",
    "Schäfer",
    "Walsh",
    "Chen",
    "Patel",
    "Kim",
    "López",
    "Martín",
    "Jensen",
    "Hernández",
    "Moreau",
    "Costa",
    "Ivanova",
    "Lefèvre",
];
const DOMAINS: &[&str] = &["Gmail.com", "outlook.com", "Yahoo.com", "icloud.com", "proton.me"];
const LEAD_SOURCES: &[&str] = &["Google", "Instagram", "Referral", "Walk-in", "Facebook", ""];

/// (id, name, time zone)
const LOCATIONS: &[(u64, &str, &str)] =
    &[(4021, "Iron Harbor Downtown", "America/Chicago"), (4022, "Iron Harbor Riverside", "America/Chicago")];
/// (id, name, active)
const PROGRAMS: &[(u64, &str, bool)] =
    &[(301, "CrossFit", true), (302, "Olympic Lifting", true), (303, "Open Gym", true), (304, "Teens", false)];
/// Class times (hour, minute) on weekdays and on Saturdays.
const WEEKDAY_SLOTS: &[(u32, u32)] = &[(6, 0), (7, 0), (12, 0), (17, 0), (18, 0), (19, 0)];
const COACHES: &[&str] = &["Jane Doe", "Marco Rossi", "Aoife Walsh"];
const SATURDAY_SLOTS: &[(u32, u32)] = &[(9, 0), (10, 0)];

/// A payment plan: (name, type, commitment, unit, payment option, initial cost, renewal cost, share %).
struct Plan {
    name: &'static str,
    kind: &'static str,
    commitment: u32,
    unit: &'static str,
    option: &'static str,
    initial: f64,
    renewal: f64,
    share: u32,
}
const PLANS: &[Plan] = &[
    Plan {
        name: "Unlimited — 12 months",
        kind: "Class Plan",
        commitment: 12,
        unit: "Month(s)",
        option: "Monthly",
        initial: 169.0,
        renewal: 159.0,
        share: 45,
    },
    Plan {
        name: "3x Week — 6 months",
        kind: "Class Plan",
        commitment: 6,
        unit: "Month(s)",
        option: "Monthly",
        initial: 139.0,
        renewal: 135.0,
        share: 30,
    },
    Plan {
        name: "Unlimited Annual",
        kind: "Class Plan",
        commitment: 1,
        unit: "Year(s)",
        option: "Pay in Full",
        initial: 1790.0,
        renewal: 1720.0,
        share: 10,
    },
    Plan {
        name: "10 Class Pack",
        kind: "Class Pack",
        commitment: 3,
        unit: "Month(s)",
        option: "Pay in Full",
        initial: 180.0,
        renewal: 180.0,
        share: 10,
    },
    Plan {
        name: "Foundations (4 weeks)",
        kind: "Class Plan",
        commitment: 4,
        unit: "Week(s)",
        option: "Weekly",
        initial: 49.0,
        renewal: 49.0,
        share: 5,
    },
];

/// A date-time in Wodify's zone-less format.
pub fn wall(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}
fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}
fn instant(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
pub const SENTINEL: &str = "1900-01-01";

fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(months)).unwrap_or(d)
}
fn plan_end(start: NaiveDate, plan: &Plan) -> NaiveDate {
    match plan.unit {
        "Year(s)" => add_months(start, 12 * plan.commitment),
        "Week(s)" => start + Duration::weeks(i64::from(plan.commitment)),
        _ => add_months(start, plan.commitment),
    }
}

/// A membership row before it is written out.
struct Row {
    id: u64,
    start: NaiveDate,
    end: NaiveDate,
    renewed_from: u64,
    plan: &'static Plan,
    hold: Option<(NaiveDate, NaiveDate)>,
    renewal: bool,
}

/// A client before it is written out.
struct Person {
    id: u64,
    first: &'static str,
    last: &'static str,
    email: String,
    location: usize,
    joined: NaiveDate,
    /// The day the membership ended for good, if before today.
    cancelled: Option<NaiveDate>,
    /// Visits a week while engaged.
    rate: f64,
    rows: Vec<Row>,
    lead_source: &'static str,
}

fn poisson(rng: &mut StdRng, mean: f64) -> u32 {
    // Knuth's method: means here are small (≤ 6).
    let l = (-mean).exp();
    let (mut k, mut p) = (0u32, 1.0f64);
    loop {
        p *= rng.random::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

fn class_id(location: usize, date: NaiveDate, slot: usize) -> u64 {
    // Stable and unique: day number, slot, location.
    let days = u64::try_from(date.num_days_from_ce()).unwrap_or(0);
    50_000_000 + days * 100 + (slot as u64) * 2 + location as u64
}

fn slots_of(date: NaiveDate) -> &'static [(u32, u32)] {
    match date.weekday() {
        Weekday::Sun => &[],
        Weekday::Sat => SATURDAY_SLOTS,
        _ => WEEKDAY_SLOTS,
    }
}

fn program_of_slot(slot: usize, date: NaiveDate) -> usize {
    // Noon is Olympic lifting on Tuesdays and Thursdays, Saturday 10:00 is open gym.
    match (date.weekday(), slot) {
        (Weekday::Tue | Weekday::Thu, 2) => 1,
        (Weekday::Sat, 1) => 2,
        _ => 0,
    }
}

/// Generates the gym.
pub fn generate(spec: &GymSpec) -> Gym {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let today = spec.today;
    let history_start = add_months(today, 0).checked_sub_months(chrono::Months::new(spec.months)).unwrap_or(today);
    let mut next_membership = 7_100_000u64;
    let mut people = Vec::with_capacity(spec.clients);
    let mut client_id = 2_400_000u64;
    for i in 0..spec.clients {
        client_id += rng.random_range(3..40);
        let first = FIRST[rng.random_range(0..FIRST.len())];
        let last = LAST[rng.random_range(0..LAST.len())];
        let local: String = deunicode_ascii(first).to_lowercase().replace(' ', ".");
        let surname: String = deunicode_ascii(last).to_lowercase().replace([' ', '\''], "");
        let email = match i % 4 {
            0 => format!("{local}.{surname}{}@{}", i % 97, DOMAINS[i % DOMAINS.len()]),
            1 => format!("{}{}@{}", capitalise(&local), i, DOMAINS[i % DOMAINS.len()]),
            _ => format!("{local}.{surname}.{i}@{}", DOMAINS[i % DOMAINS.len()]),
        };
        // Joins spread over the history and the three years before it.
        let span = (today - history_start).num_days() + 3 * 365;
        let joined = today - Duration::days(rng.random_range(1..span));
        // Months a member stays: about 88 % past month 3, 74 % past 6, 53 % past 12.
        let u: f64 = rng.random();
        let months_stayed = if u < 0.12 {
            rng.random_range(1.0..3.0)
        } else if u < 0.26 {
            rng.random_range(3.0..6.0)
        } else if u < 0.47 {
            rng.random_range(6.0..12.0)
        } else {
            rng.random_range(12.0..72.0)
        };
        let end = joined + Duration::days((months_stayed * 30.44) as i64);
        let cancelled = (end < today).then_some(end);
        let rate = (0.6 + rng.random::<f64>() * 4.4).min(5.5);
        let mut plan_roll = rng.random_range(0..100);
        let plan = PLANS
            .iter()
            .find(|p| {
                if plan_roll < p.share {
                    true
                } else {
                    plan_roll -= p.share;
                    false
                }
            })
            .unwrap_or(&PLANS[0]);
        // The renewal chain: each commitment period its own row, the next starting on the
        // previous row's end date; the last row ends on the cancellation day.
        let mut rows = Vec::new();
        let mut start = joined;
        let mut renewed_from = 0;
        while start < today && cancelled.is_none_or(|c| start < c) {
            next_membership += rng.random_range(1..9);
            let mut row_end = plan_end(start, plan);
            if let Some(c) = cancelled {
                row_end = row_end.min(c);
            }
            let hold = (rng.random_range(0..100) < 8 && (row_end - start).num_days() > 60).then(|| {
                let from = start + Duration::days(rng.random_range(10..(row_end - start).num_days() - 40));
                (from, from + Duration::days(rng.random_range(14..31)))
            });
            rows.push(Row {
                id: next_membership,
                start,
                end: row_end,
                renewed_from,
                plan,
                hold,
                renewal: renewed_from != 0,
            });
            renewed_from = next_membership;
            start = row_end;
        }
        let location = usize::from(rng.random_range(0..100) >= 62);
        let lead_source = LEAD_SOURCES[rng.random_range(0..LEAD_SOURCES.len())];
        people.push(Person { id: client_id, first, last, email, location, joined, cancelled, rate, rows, lead_source });
    }

    let mut gym = Gym {
        locations: LOCATIONS.iter().map(|(id, name, tz)| json!({"id": id, "name": name, "timezone": tz})).collect(),
        programs: PROGRAMS
            .iter()
            .map(|(id, name, active)| json!({"id": id, "name": name, "is_active": active}))
            .collect(),
        statuses: vec![json!({"id": 1, "status": "Active"}), json!({"id": 2, "status": "Inactive"})],
        ..Gym::default()
    };
    let tz: chrono_tz::Tz = LOCATIONS[0].2.parse().unwrap_or(chrono_tz::UTC);
    let to_utc = |local: NaiveDateTime| -> NaiveDateTime {
        tz.from_local_datetime(&local).earliest().map_or(local, |t| t.with_timezone(&Utc).naive_utc())
    };

    // Classes, each day of the history at both locations.
    let mut date = history_start;
    while date < today {
        for (slot, (h, m)) in slots_of(date).iter().enumerate() {
            for (loc, (loc_id, loc_name, _)) in LOCATIONS.iter().enumerate() {
                let program = program_of_slot(slot, date);
                let start = date.and_time(NaiveTime::from_hms_opt(*h, *m, 0).unwrap_or_default());
                gym.classes.push(json!({
                    "id": class_id(loc, date, slot),
                    "name": format!("{} {:02}:{:02}", PROGRAMS[program].1, h, m),
                    "start_date_time": wall(start),
                    "end_date_time": wall(start + Duration::hours(1)),
                    "location_id": loc_id, "location": loc_name,
                    "program_id": PROGRAMS[program].0,
                    "coach": COACHES[(slot + date.day() as usize) % 3],
                    "is_cancelled": date.day() == 25 && date.month() == 12,
                    "capacity": 16,
                }));
            }
        }
        date += Duration::days(1);
    }

    let mut sign_in_id = 90_000_000u64;
    let mut invoice_id = 30_000_000u64;
    let mut transaction_id = 60_000_000u64;
    for p in &people {
        let name = format!("{} {}", p.first, p.last);
        let (loc_id, loc_name, _) = LOCATIONS[p.location];
        // Sign-ins, week by week while a member, fading over the weeks before a cancellation.
        let mut visits: Vec<NaiveDateTime> = Vec::new();
        let mut week = p.joined.max(history_start);
        let stop = p.cancelled.unwrap_or(today).min(today);
        while week < stop {
            let mut mean = p.rate;
            if let Some(c) = p.cancelled {
                let weeks_left = (c - week).num_days() as f64 / 7.0;
                if weeks_left < 6.0 {
                    mean *= 0.15 + 0.85 * (weeks_left / 6.0);
                }
            } else if rng.random_range(0..100) < 6 {
                mean *= 0.3; // a noisy dip among members who stay
            }
            let on_hold = p.rows.iter().any(|r| r.hold.is_some_and(|(a, b)| week >= a && week < b));
            let n = if on_hold { 0 } else { poisson(&mut rng, mean).min(6) };
            for _ in 0..n {
                let d = week + Duration::days(rng.random_range(0..7));
                if d >= stop {
                    continue;
                }
                let slots = slots_of(d);
                if slots.is_empty() {
                    continue;
                }
                let slot = rng.random_range(0..slots.len());
                let (h, m) = slots[slot];
                let start = d.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default());
                if visits.contains(&start) {
                    continue;
                }
                visits.push(start);
                let program = program_of_slot(slot, d);
                let membership = p.rows.iter().find(|r| d >= r.start && d < r.end);
                sign_in_id += rng.random_range(1..6);
                let signed_in = start - Duration::minutes(rng.random_range(2..25));
                // Some exports send ids as numeric strings.
                let client_ref = if sign_in_id.is_multiple_of(11) { json!(p.id.to_string()) } else { json!(p.id) };
                gym.sign_ins.push(json!({
                    "id": sign_in_id,
                    "client_id": client_ref,
                    "client": name,
                    "class_id": class_id(p.location, d, slot),
                    "class": format!("{} {:02}:{:02}", PROGRAMS[program].1, h, m),
                    "sign_in_date_time": wall(signed_in),
                    "utc_class_start_datetime": wall(to_utc(start)),
                    "local_class_start_datetime": wall(start),
                    "program_id": PROGRAMS[program].0,
                    "program": PROGRAMS[program].1,
                    "location_id": loc_id, "location": loc_name,
                    "membership_id": membership.map_or(0, |r| r.id),
                    "membership": membership.map_or("", |r| r.plan.name),
                    "is_drop_in": membership.is_none(),
                    "created": {"created_on_datetime": instant(to_utc(signed_in))},
                    "updated": {"updated_on_datetime": instant(to_utc(signed_in))},
                }));
            }
            week += Duration::days(7);
        }
        visits.sort();

        // Memberships, their invoices and the payments against them.
        for r in &p.rows {
            let cost = if r.renewal { r.plan.renewal } else { r.plan.initial };
            let payment_plan = json!({
                "initial_commitment_length": r.plan.commitment,
                "initial_commitment_time_unit": r.plan.unit,
                "initial_payment_option": {"initial_payment_option_type": r.plan.option, "initial_cost": r.plan.initial},
                "renewal_payment_option": {"renewal_payment_option_type": r.plan.option, "renewal_cost": r.plan.renewal},
            });
            let current = r.start <= today && r.end > today;
            let list = json!({
                "id": r.id,
                "client_id": p.id,
                "name": r.plan.name,
                "membership_type": r.plan.kind,
                // Unreliable in the real API: true on only some current rows.
                "is_active": current && r.id % 3 == 0,
                "is_deleted": r.id % 97 == 0,
                "start_date": day(r.start),
                "end_date": day(r.end),
                "expiration_date": if r.plan.kind == "Class Pack" { day(r.end) } else { SENTINEL.to_string() },
                "renewed_from_membership_id": if r.renewed_from != 0 && r.id % 5 == 0 { json!(r.renewed_from.to_string()) } else { json!(r.renewed_from) },
                "payment_plan": payment_plan,
            });
            let mut detail = list.clone();
            detail["membership_holds"] = json!(r.hold.map_or(vec![], |(a, b)| vec![json!({
                "start_date": day(a), "end_date": day(b), "reason": "Travel"
            })]));
            gym.memberships.push(list);
            gym.membership_details.push(detail);

            let mut due = r.start;
            let mut first = true;
            while due < r.end && due < today {
                if due >= history_start && !r.hold.is_some_and(|(a, b)| due >= a && due < b) {
                    let amount = if first { cost } else { r.plan.renewal.min(cost) };
                    invoice_id += rng.random_range(1..7);
                    let roll = rng.random_range(0..1000);
                    let recent = (today - due).num_days() < 20;
                    let (status, paid, refunded) = if roll < 15 {
                        ("Voided", 0.0, 0.0)
                    } else if roll < 15 + if recent { 120 } else { 8 } {
                        ("Unpaid", 0.0, 0.0)
                    } else if roll > 985 {
                        ("Paid", amount, -amount)
                    } else if roll > 975 {
                        ("Paid", amount, -(amount / 2.0).round())
                    } else {
                        ("Paid", amount, 0.0)
                    };
                    let due_at = due.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default());
                    gym.invoices.push(json!({
                        "id": invoice_id,
                        "client_id": p.id,
                        "membership_id": r.id,
                        "invoice_header_status": status,
                        "payment_due": day(due),
                        "final_charge": amount,
                        "paid_amount": paid,
                        "unpaid_amount": if status == "Unpaid" { amount } else { 0.0 },
                        "final_refunded_amount": refunded,
                        "is_auto_bill": r.plan.option != "Pay in Full",
                        "invoice_details": [{"revenue_category": "Membership", "post_header_net_revenue": amount + refunded}],
                        "updated": {"updated_on_datetime": instant(due_at)},
                    }));
                    // A failed attempt before most unpaid invoices and a few paid ones.
                    let failed_first = status == "Unpaid" || (status == "Paid" && roll % 23 == 0);
                    let mut at = due_at + Duration::minutes(rng.random_range(0..180));
                    if failed_first && status != "Voided" {
                        transaction_id += rng.random_range(1..5);
                        gym.transactions.push(transaction(
                            transaction_id,
                            p.id,
                            invoice_id,
                            at,
                            amount,
                            "Payment",
                            "Failed",
                        ));
                        at += Duration::days(3);
                    }
                    if status == "Paid" {
                        transaction_id += rng.random_range(1..5);
                        gym.transactions.push(transaction(
                            transaction_id,
                            p.id,
                            invoice_id,
                            at,
                            amount,
                            "Payment",
                            "Succeeded",
                        ));
                        if refunded < 0.0 {
                            transaction_id += rng.random_range(1..5);
                            let back = at + Duration::days(rng.random_range(1..20));
                            gym.transactions.push(transaction(
                                transaction_id,
                                p.id,
                                invoice_id,
                                back,
                                refunded,
                                "Refund",
                                "Succeeded",
                            ));
                        }
                    }
                }
                first = false;
                due = match r.plan.option {
                    "Monthly" => add_months(due, 1),
                    "Weekly" => due + Duration::weeks(1),
                    _ => r.end,
                };
            }
        }

        // The client, in list and detail shape.
        let active = p.cancelled.is_none() && !p.rows.is_empty();
        let last_visit = visits.last().copied();
        let days_since = last_visit
            .map_or((today - NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(today)).num_days(), |v| {
                (today - v.date()).num_days()
            });
        let mut history = vec![];
        if !p.rows.is_empty() {
            history.push(json!({"from_status": "Inactive", "to_status": "Active", "status_change_datetime": instant(p.joined.and_time(NaiveTime::from_hms_opt(15, 0, 0).unwrap_or_default()))}));
        }
        if let Some(c) = p.cancelled {
            history.push(json!({"from_status": "Active", "to_status": "Inactive", "status_change_datetime": instant(c.and_time(NaiveTime::from_hms_opt(18, 30, 0).unwrap_or_default()))}));
        }
        let created =
            instant((p.joined - Duration::days(2)).and_time(NaiveTime::from_hms_opt(14, 0, 0).unwrap_or_default()));
        let dob = if p.id % 9 < 5 {
            SENTINEL.to_string()
        } else {
            day(NaiveDate::from_ymd_opt(1965 + (p.id % 40) as i32, 1 + (p.id % 12) as u32, 1 + (p.id % 28) as u32)
                .unwrap_or(today))
        };
        let client = json!({
            "id": p.id,
            "first_name": p.first,
            "last_name": p.last,
            "email": p.email,
            "phone_number": format!("+1 312 555 {:04}", p.id % 10_000),
            "client_status_id": if active { 1 } else { 2 },
            "client_status": if active { "Active" } else { "Inactive" },
            "location_id": loc_id, "location": loc_name,
            "date_of_birth": dob,
            "gender": if FIRST.iter().position(|f| *f == p.first).unwrap_or(0) < 18 { "Female" } else { "Male" },
            // Mixed formats, as exported.
            "member_since": if p.id % 2 == 0 { day(p.joined) } else { wall(p.joined.and_time(NaiveTime::MIN)) },
            "last_attendance": last_visit.map_or(SENTINEL.to_string(), |v| day(v.date())),
            "days_since_last_attendance": days_since,
            "total_class_sign_ins": visits.len(),
            "last_class_sign_in": last_visit.map_or(format!("{SENTINEL}T00:00:00"), wall),
            "current_weekstreak": if active { (p.rate as u32).min(8) } else { 0 },
            "highest_weekstreak": (p.rate * 4.0) as u32,
            "is_at_risk": active && days_since > 14,
            "has_overdue_invoices": false,
            "has_membership": !p.rows.is_empty(),
            "has_payment_method": !p.rows.is_empty() && p.id % 13 != 0,
            "lead_source": p.lead_source,
            "tags": if p.rate > 4.0 { vec!["Competitor"] } else { vec![] },
            "created_on": {"created_on_datetime": created},
        });
        let mut detail = client.clone();
        if let Some(map) = detail.as_object_mut() {
            map.remove("created_on");
            map.insert("created".into(), json!({"created_on_datetime": created}));
            map.insert("status_history".into(), json!(history));
        }
        gym.clients.push(client);
        gym.client_details.push(detail);
    }
    // Overdue invoices, now that they are known.
    for inv in &gym.invoices {
        if inv["invoice_header_status"] != "Unpaid" {
            continue;
        }
        if let Some(pos) = gym.clients.iter().position(|c| c["id"] == inv["client_id"]) {
            gym.clients[pos]["has_overdue_invoices"] = json!(true);
            gym.client_details[pos]["has_overdue_invoices"] = json!(true);
        }
    }
    for (i, n) in (0..spec.clients / 10).enumerate() {
        gym.leads.push(json!({
            "id": 880_000 + n as u64 * 7,
            "first_name": FIRST[i % FIRST.len()], "last_name": LAST[(i * 7) % LAST.len()],
            "email": format!("lead{i}@example.com"), "lead_source": LEAD_SOURCES[i % LEAD_SOURCES.len()],
        }));
    }
    gym.sign_ins.sort_by_key(|s| s["id"].as_u64());
    gym.transactions.sort_by_key(|t| t["id"].as_u64());
    gym.invoices.sort_by_key(|t| t["id"].as_u64());
    gym.next_id = 99_000_000 + sign_in_id.max(invoice_id).max(transaction_id) % 1_000_000;
    gym
}

fn transaction(id: u64, client: u64, invoice: u64, at: NaiveDateTime, amount: f64, kind: &str, status: &str) -> Value {
    json!({
        "id": id, "client_id": client, "invoice_id": invoice,
        "transaction_datetime": wall(at),
        "amount": amount,
        "payment_method": if id.is_multiple_of(4) { "ACH" } else { "Credit Card" },
        "transaction_type": kind,
        "status": status,
        "updated": {"updated_on_datetime": instant(at)},
    })
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// Accents folded for email addresses (a few letters are enough for these names).
fn deunicode_ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'å' | 'Å' | 'Á' => 'a',
            'é' | 'è' | 'ë' | 'É' => 'e',
            'í' | 'ï' => 'i',
            'ó' | 'ö' | 'ø' | 'Ó' | 'ọ' => 'o',
            'ú' | 'ü' => 'u',
            'ñ' => 'n',
            'ł' | 'Ł' => 'l',
            'ß' => 's',
            'ç' => 'c',
            'ả' => 'a',
            'ễ' => 'e',
            'ĩ' => 'i',
            c if c.is_ascii() => c,
            _ => 'x',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_gym() {
        let spec = GymSpec { clients: 40, ..GymSpec::default() };
        let (a, b) = (generate(&spec), generate(&spec));
        assert_eq!(a.clients, b.clients);
        assert_eq!(a.sign_ins, b.sign_ins);
        assert_eq!(a.invoices, b.invoices);
    }

    #[test]
    fn the_default_gym_is_realistic() {
        let gym = generate(&GymSpec::default());
        assert_eq!(gym.clients.len(), 1000);
        eprintln!(
            "clients {} active {} memberships {} sign-ins {} invoices {} transactions {} classes {}",
            gym.clients.len(),
            gym.clients.iter().filter(|c| c["client_status"] == "Active").count(),
            gym.memberships.len(),
            gym.sign_ins.len(),
            gym.invoices.len(),
            gym.transactions.len(),
            gym.classes.len()
        );
        let active = gym.clients.iter().filter(|c| c["client_status"] == "Active").count();
        assert!((250..700).contains(&active), "{active} active");
        assert!(gym.memberships.len() > 1500, "{} memberships", gym.memberships.len());
        assert!(gym.memberships.iter().any(|m| m["renewed_from_membership_id"] != 0));
        assert!(gym.membership_details.iter().any(|m| m["membership_holds"].as_array().is_some_and(|h| !h.is_empty())));
        assert!(gym.sign_ins.len() > 30_000, "{} sign-ins", gym.sign_ins.len());
        assert!(gym.invoices.iter().any(|i| i["final_refunded_amount"].as_f64() < Some(0.0)));
        assert!(gym.transactions.iter().any(|t| t["status"] == "Failed"));
        assert!(gym.clients.iter().any(|c| c["last_attendance"] == SENTINEL));
        let oldest =
            gym.sign_ins.iter().filter_map(|s| s["local_class_start_datetime"].as_str()).min().unwrap_or_default();
        assert!(oldest < "2024-12-01", "24 months of sign-ins: oldest {oldest}");
    }
}
