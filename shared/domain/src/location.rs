//! A location is one site of a business: its time zone (every "today" and "this morning" of a
//! check-in is the location's), opening hours, capacity and equipment inventory.

use crate::equipment::{EquipmentItem, EquipmentType, WeightRange};
use crate::id::Id;
use crate::validation::{FieldError, FieldReader, parse};
use chrono::{DateTime, Datelike, NaiveDateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[schema(value_type = String, example = "loc_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: Id,
    pub name: String,
    /// IANA time zone, e.g. `Europe/Madrid`.
    pub timezone: String,
    /// Opening hours in the location's time zone; none listed means always open.
    #[serde(default)]
    pub opening_hours: Vec<OpeningHours>,
    /// How many members may be in at once; none means no limit.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// How long a visit lasts when the check-in doesn't say (occupancy counts a member in for this long).
    #[serde(default = "default_visit")]
    pub typical_visit_minutes: u32,
    #[serde(default)]
    pub equipment: Vec<EquipmentItem>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<DateTime<Utc>>,
}

fn default_visit() -> u32 {
    DEFAULT_VISIT_MINUTES
}

pub const DEFAULT_VISIT_MINUTES: u32 = 75;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    pub fn of(w: Weekday) -> Day {
        match w {
            Weekday::Mon => Day::Mon,
            Weekday::Tue => Day::Tue,
            Weekday::Wed => Day::Wed,
            Weekday::Thu => Day::Thu,
            Weekday::Fri => Day::Fri,
            Weekday::Sat => Day::Sat,
            Weekday::Sun => Day::Sun,
        }
    }
}

/// One opening window of one weekday (`closes` may be `24:00`). A day may have several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpeningHours {
    pub day: Day,
    /// `HH:MM`, local time.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "06:00")]
    pub opens: String,
    /// `HH:MM` after `opens`, or `24:00`.
    #[schema(pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", example = "21:30")]
    pub closes: String,
}

fn minutes_of(hhmm: &str) -> Option<u32> {
    if hhmm == "24:00" {
        return Some(24 * 60);
    }
    let t = NaiveTime::parse_from_str(hhmm, "%H:%M").ok()?;
    (hhmm.len() == 5).then(|| chrono::Timelike::hour(&t) * 60 + chrono::Timelike::minute(&t))
}

/// The IANA zone, if the name is one.
pub fn zone(name: &str) -> Option<chrono_tz::Tz> {
    name.parse::<chrono_tz::Tz>().ok()
}

impl Location {
    /// A location open all hours, without capacity or equipment yet.
    pub fn new(id: Id, name: &str, timezone: &str, now: Option<DateTime<Utc>>) -> Location {
        Location {
            id,
            name: name.to_owned(),
            timezone: timezone.to_owned(),
            opening_hours: Vec::new(),
            capacity: None,
            typical_visit_minutes: DEFAULT_VISIT_MINUTES,
            equipment: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        zone(&self.timezone).unwrap_or(chrono_tz::UTC)
    }

    /// The wall-clock time at the location at `at`.
    pub fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.tz()).naive_local()
    }

    /// Whether the location is open at `at`; `Err` carries when it next opens today, if it does.
    pub fn is_open(&self, at: DateTime<Utc>) -> Result<(), Option<String>> {
        if self.opening_hours.is_empty() {
            return Ok(());
        }
        let local = self.local(at);
        let day = Day::of(local.weekday());
        let now = chrono::Timelike::hour(&local) * 60 + chrono::Timelike::minute(&local);
        let today: Vec<&OpeningHours> = self.opening_hours.iter().filter(|h| h.day == day).collect();
        let mut next: Option<u32> = None;
        for h in &today {
            let (Some(o), Some(c)) = (minutes_of(&h.opens), minutes_of(&h.closes)) else { continue };
            if (o..c).contains(&now) {
                return Ok(());
            }
            if o > now {
                next = Some(next.map_or(o, |n| n.min(o)));
            }
        }
        Err(next.map(|m| format!("{:02}:{:02}", m / 60, m % 60)))
    }
}

/// The writable fields of a location, as named on the wire.
pub const FIELDS: &[&str] = &["name", "timezone", "openingHours", "capacity", "typicalVisitMinutes", "equipment"];
const ITEM_FIELDS: &[&str] = &["type", "count", "weightsKg", "rangeKg", "heightsCm", "note"];
const MAX_ITEMS: usize = 100;

fn opening_hours(v: &Value, reader_prefix: &str, errors: &mut Vec<FieldError>) -> Option<Vec<OpeningHours>> {
    let Some(list) = v.as_array() else {
        errors.push(FieldError { field: reader_prefix.into(), message: "must be an array".into() });
        return None;
    };
    if list.len() > 28 {
        errors.push(FieldError { field: reader_prefix.into(), message: "may hold at most 28 windows".into() });
        return None;
    }
    let mut out = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let prefix = format!("{reader_prefix}/{i}");
        let Some(obj) = entry.as_object() else {
            errors.push(FieldError { field: prefix, message: "must be an object".into() });
            continue;
        };
        let mut r = FieldReader::new(obj, &prefix, "an opening window", &["day", "opens", "closes"]);
        let day = r.required("day", parse::one_of::<Day>("mon, tue, wed, thu, fri, sat, sun"));
        let opens = r.required("opens", |v| {
            v.as_str()
                .filter(|s| *s != "24:00" && minutes_of(s).is_some())
                .map(str::to_owned)
                .ok_or("must be HH:MM".to_owned())
        });
        let closes = r.required("closes", |v| {
            v.as_str().filter(|s| minutes_of(s).is_some()).map(str::to_owned).ok_or("must be HH:MM or 24:00".to_owned())
        });
        if let (Some(o), Some(c)) = (&opens, &closes)
            && minutes_of(c) <= minutes_of(o)
        {
            r.fail("closes", "must be after `opens` (a window past midnight is two windows)");
        }
        if let (Some(day), Some(opens), Some(closes)) = (day, opens, closes) {
            out.push(OpeningHours { day, opens, closes });
        }
        errors.extend(r.errors);
    }
    Some(out)
}

fn equipment(v: &Value, prefix: &str, errors: &mut Vec<FieldError>) -> Option<Vec<EquipmentItem>> {
    let Some(list) = v.as_array() else {
        errors.push(FieldError { field: prefix.into(), message: "must be an array".into() });
        return None;
    };
    if list.len() > MAX_ITEMS {
        errors.push(FieldError { field: prefix.into(), message: format!("may hold at most {MAX_ITEMS} lines") });
        return None;
    }
    let known = EquipmentType::known();
    let mut out: Vec<EquipmentItem> = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let p = format!("{prefix}/{i}");
        let Some(obj) = entry.as_object() else {
            errors.push(FieldError { field: p, message: "must be an object".into() });
            continue;
        };
        let mut r = FieldReader::new(obj, &p, "an equipment line", ITEM_FIELDS);
        let kind = r.required("type", parse::one_of::<EquipmentType>(&known));
        let count = r.required("count", parse::int(0, 10_000));
        let weights = r.present("weightsKg", |v| {
            let a = v.as_array().ok_or("must be an array of weights in kg")?;
            if a.len() > 100 {
                return Err("may hold at most 100 weights".to_owned());
            }
            a.iter()
                .map(|w| w.as_f64().filter(|w| w.is_finite() && *w > 0.0 && *w <= 500.0))
                .collect::<Option<Vec<f64>>>()
                .ok_or("every weight must be a number above 0 and at most 500 kg".to_owned())
        });
        let range = r
            .optional("rangeKg", |v| {
                let range: WeightRange =
                    serde_json::from_value(v.clone()).map_err(|_| "must be {min, max, step} in kg".to_owned())?;
                let ok = range.min > 0.0 && range.max >= range.min && range.max <= 200.0 && range.step >= 0.5;
                if !ok || (range.max - range.min) / range.step > 200.0 {
                    return Err("needs 0 < min <= max <= 200 and step >= 0.5, with at most 200 weights".to_owned());
                }
                Ok(range)
            })
            .flatten();
        let heights = r.present("heightsCm", |v| {
            let a = v.as_array().ok_or("must be an array of heights in cm")?;
            if a.len() > 20 {
                return Err("may hold at most 20 heights".to_owned());
            }
            a.iter()
                .map(|h| parse::int(10, 150)(h).ok().map(|h| h as u32))
                .collect::<Option<Vec<u32>>>()
                .ok_or("every height must be a whole number of cm from 10 to 150".to_owned())
        });
        let note = r.optional("note", parse::text(200)).flatten();
        if let Some(kind) = kind
            && out.iter().any(|o| o.kind == kind)
        {
            r.fail("type", format!("`{}` is listed twice; list each type once", kind.as_str()));
        }
        if let (Some(kind), Some(count)) = (kind, count)
            && r.errors.is_empty()
        {
            let mut w = weights.unwrap_or_default();
            w.sort_by(f64::total_cmp);
            w.dedup();
            let mut h = heights.unwrap_or_default();
            h.sort_unstable();
            h.dedup();
            out.push(EquipmentItem { kind, count: count as u32, weights_kg: w, range_kg: range, heights_cm: h, note });
        }
        errors.extend(r.errors);
    }
    Some(out)
}

/// Applies the fields of `body` to `loc`; on create, `name` and `timezone` are required.
pub fn apply_fields(body: &Map<String, Value>, loc: &mut Location, creating: bool) -> Vec<FieldError> {
    let mut r = FieldReader::new(body, "", "a location", FIELDS);
    if creating {
        if let Some(name) = r.required("name", parse::text(100)) {
            loc.name = name;
        }
    } else if let Some(name) = r.present("name", parse::text(100)) {
        loc.name = name;
    }
    let tz = |v: &Value| {
        v.as_str()
            .filter(|s| zone(s).is_some())
            .map(str::to_owned)
            .ok_or_else(|| "must be an IANA time zone such as Europe/Madrid".to_owned())
    };
    if creating {
        if let Some(t) = r.required("timezone", tz) {
            loc.timezone = t;
        }
    } else if let Some(t) = r.present("timezone", tz) {
        loc.timezone = t;
    }
    if let Some(c) = r.optional("capacity", parse::int(1, 100_000)) {
        loc.capacity = c.map(|c| c as u32);
    }
    if let Some(m) = r.present("typicalVisitMinutes", parse::int(10, 480)) {
        loc.typical_visit_minutes = m as u32;
    }
    let mut nested = Vec::new();
    match body.get("openingHours") {
        None => {}
        Some(Value::Null) => loc.opening_hours.clear(),
        Some(v) => {
            if let Some(h) = opening_hours(v, "/openingHours", &mut nested) {
                loc.opening_hours = h;
            }
        }
    }
    match body.get("equipment") {
        None => {}
        Some(Value::Null) => loc.equipment.clear(),
        Some(v) => {
            if let Some(e) = equipment(v, "/equipment", &mut nested) {
                loc.equipment = e;
            }
        }
    }
    let mut errors = r.errors;
    errors.extend(nested);
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn loc() -> Location {
        Location::new(Id::from_parts(crate::IdKind::Location, 0, [0; 10]), "", "", None)
    }

    #[test]
    fn validates_every_field_and_names_each_problem() {
        let body = json!({"name": "Centro", "timezone": "Mars/Olympus", "capacity": 0,
            "openingHours": [{"day": "mon", "opens": "22:00", "closes": "06:00"}, {"day": "funday", "opens": "6", "closes": "7"}],
            "equipment": [{"type": "kettlebell", "count": 6, "weightsKg": [8, 12, -1]}, {"type": "hoverboard", "count": 1}]});
        let errors = apply_fields(body.as_object().unwrap(), &mut loc(), true);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "/timezone",
            "/capacity",
            "/openingHours/0/closes",
            "/openingHours/1/day",
            "/openingHours/1/opens",
            "/equipment/0/weightsKg",
            "/equipment/1/type",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_point_and_lists_keep_their_documented_limits() {
        let mut l = loc();
        let body = json!({"name": "Centro", "timezone": "Europe/Madrid",
            "equipment": [{"type": "box", "count": 4.0, "heightsCm": [60.0, 50]}]});
        assert!(apply_fields(body.as_object().unwrap(), &mut l, true).is_empty());
        assert_eq!(l.equipment[0].heights_cm, vec![50, 60]);
        let body = json!({"equipment": [{"type": "box", "count": 4, "heightsCm": vec![50; 21]},
            {"type": "plates", "count": 4, "weightsKg": vec![5; 101]}]});
        let errors = apply_fields(body.as_object().unwrap(), &mut l, false);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["/equipment/0/heightsCm", "/equipment/1/weightsKg"]);
    }

    #[test]
    fn opening_hours_are_read_in_the_location_zone() {
        let mut l = loc();
        let body = json!({"name": "Centro", "timezone": "Europe/Madrid",
            "openingHours": [{"day": "tue", "opens": "06:00", "closes": "13:00"}, {"day": "tue", "opens": "16:00", "closes": "22:00"}]});
        assert!(apply_fields(body.as_object().unwrap(), &mut l, true).is_empty());
        // 2026-12-01 is a Tuesday; Madrid is UTC+1 in winter.
        let at = |h: u32, m: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(h, m, 0).unwrap().and_utc()
        };
        assert_eq!(l.is_open(at(5, 30)), Ok(()));
        assert_eq!(l.is_open(at(4, 59)), Err(Some("06:00".into())));
        assert_eq!(l.is_open(at(13, 0)), Err(Some("16:00".into())));
        assert_eq!(l.is_open(at(21, 0)), Err(None));
    }
}
