//! Exports: a resource's records as CSV (RFC 4180, UTF-8, header row), a JSON array or JSON
//! lines, with the fields chosen and ordered by the caller. Nested values are flattened with
//! dotted names (`results.lt1.load`); in JSON they nest again under the same names. Records are
//! written one at a time to any `io::Write`, so an export never needs the whole file in memory.

use chrono::{DateTime, NaiveDate, Utc};
use iron_domain::job::JobResource;
use iron_domain::{Id, IdKind, TestType};
use iron_store::TenantDb;
use iron_store::repo::RepoResult;
use iron_store::repo::athletes::{self, AthleteFilter};
use iron_store::repo::fitness_tests::{self, TestFilter};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Jsonl,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Jsonl => "application/jsonl",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
        }
    }
}

impl From<iron_domain::job::FileFormat> for Format {
    fn from(f: iron_domain::job::FileFormat) -> Format {
        match f {
            iron_domain::job::FileFormat::Csv => Format::Csv,
            iron_domain::job::FileFormat::Json => Format::Json,
            iron_domain::job::FileFormat::Jsonl => Format::Jsonl,
        }
    }
}

/// Where an export's records come from, page by page: the inline export and the export job
/// read the same way.
pub enum Source {
    Athletes(AthleteFilter),
    Tests(TestFilter),
}

/// Records read per page of the store.
pub const PAGE: usize = 500;

impl Source {
    /// The source a stored export job names (its filters as the inline export's query
    /// parameters spell them; checked when the job was made).
    pub fn of(resource: JobResource, filters: &BTreeMap<String, String>) -> Source {
        let get = |k: &str| filters.get(k).map(String::as_str);
        let time = |k: &str| get(k).and_then(|v| DateTime::parse_from_rfc3339(v).ok()).map(|t| t.with_timezone(&Utc));
        let date = |k: &str| get(k).and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok());
        match resource {
            JobResource::Athletes => Source::Athletes(AthleteFilter {
                q: None,
                location_id: get("locationId").and_then(|v| Id::parse_kind(IdKind::Location, v)),
                updated_since: time("updatedSince"),
            }),
            JobResource::Tests => Source::Tests(TestFilter {
                athlete_id: get("athleteId").and_then(|v| Id::parse_kind(IdKind::Athlete, v)),
                test_type: get("testType").and_then(TestType::parse),
                date_from: date("dateFrom"),
                date_to: date("dateTo"),
            }),
        }
    }

    /// Reads the source page by page.
    pub fn pages(self) -> Pages {
        Pages { source: self, cursor: None, done: false }
    }
}

/// The pages of a [`Source`].
pub struct Pages {
    source: Source,
    cursor: Option<iron_store::Cursor>,
    done: bool,
}

impl Pages {
    /// The next page of records, each as the API shows it (a test with its `stageCount`);
    /// `None` after the last.
    pub async fn next(&mut self, db: TenantDb<'_>) -> RepoResult<Option<Vec<Value>>> {
        if self.done {
            return Ok(None);
        }
        let cursor = self.cursor.take();
        let (records, next) = match &self.source {
            Source::Athletes(filter) => {
                let page = athletes::list(db, filter, PAGE, cursor).await?;
                (page.athletes.iter().map(|a| serde_json::to_value(a).unwrap_or_default()).collect(), page.next)
            }
            Source::Tests(filter) => {
                let (tests, next) = fitness_tests::list(db, filter, PAGE, cursor).await?;
                let records = tests
                    .iter()
                    .map(|t| {
                        let mut record = serde_json::to_value(t).unwrap_or_default();
                        record["stageCount"] = Value::from(t.stages.len());
                        record
                    })
                    .collect();
                (records, next)
            }
        };
        self.done = next.is_none();
        self.cursor = next;
        Ok(Some(records))
    }
}

/// Every field an athlete export may hold, in the default order.
pub const ATHLETE_FIELDS: &[&str] = &[
    "id",
    "externalId",
    "source",
    "firstName",
    "lastName",
    "email",
    "phone",
    "birthDate",
    "sex",
    "status",
    "locationId",
    "joinedOn",
    "createdAt",
    "updatedAt",
];

/// Every field a test export may hold, in the default order. `stages` is the stage list (a JSON
/// array; in CSV, its JSON text in one cell).
pub const TEST_FIELDS: &[&str] = &[
    "id",
    "athleteId",
    "testType",
    "modality",
    "performedAt",
    "locationId",
    "bodyMassKg",
    "notes",
    "stageCount",
    "results.vo2maxMlKgMin",
    "results.vo2maxMethod",
    "results.maxHeartRateBpm",
    "results.peakPowerW",
    "results.peakPowerWPerKg",
    "results.peakSpeedKmh",
    "results.maxLactateMmol",
    "results.lt1.load",
    "results.lt1.unit",
    "results.lt1.heartRateBpm",
    "results.lt1.lactateMmol",
    "results.lt1.method",
    "results.lt2.load",
    "results.lt2.unit",
    "results.lt2.heartRateBpm",
    "results.lt2.lactateMmol",
    "results.lt2.method",
    "results.split500mS",
    "stages",
    "createdAt",
    "updatedAt",
];

/// The fields a `fields` parameter names (comma-separated, no spaces), in its order: known names,
/// a group prefix (`results`, `results.lt1`) standing for all its fields. `Err` names the first
/// unknown field (empty for an empty name).
pub fn select(known: &[&'static str], requested: Option<&str>) -> Result<Vec<&'static str>, String> {
    let Some(requested) = requested else { return Ok(known.to_vec()) };
    let mut out: Vec<&'static str> = Vec::new();
    for name in requested.split(',') {
        if name.is_empty() {
            return Err(String::new());
        }
        let prefix = format!("{name}.");
        let matched: Vec<&'static str> =
            known.iter().copied().filter(|k| *k == name || k.starts_with(&prefix)).collect();
        if matched.is_empty() {
            return Err(name.to_owned());
        }
        for m in matched {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// The value at a dotted path of a record's JSON (`results.lt1.load`).
fn at<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(record, |v, part| v.get(part))
}

/// A CSV cell: strings as they are, numbers and booleans as JSON writes them, arrays and
/// objects as their JSON text, nothing for null or absent.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A record with only the chosen fields, nested again by their dotted names.
fn nested(record: &Value, fields: &[&str]) -> Value {
    let mut out = Map::new();
    for f in fields {
        let value = at(record, f).cloned().unwrap_or(Value::Null);
        let mut parts: Vec<&str> = f.split('.').collect();
        let last = parts.pop().unwrap_or(f);
        let mut node = &mut out;
        for p in parts {
            let entry = node.entry(p.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            node = match entry {
                Value::Object(m) => m,
                _ => unreachable!("made an object above"),
            };
        }
        node.insert(last.to_owned(), value);
    }
    Value::Object(out)
}

/// A CSV error as the I/O error it wraps (so the output's own errors keep their kind).
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Writes an export record by record.
pub struct Writer<W: Write> {
    format: Format,
    fields: Vec<&'static str>,
    csv: Option<csv::Writer<W>>,
    out: Option<W>,
    rows: usize,
}

impl<W: Write> Writer<W> {
    /// Starts the export (the CSV header row, the JSON array's bracket).
    pub fn new(format: Format, fields: Vec<&'static str>, out: W) -> io::Result<Writer<W>> {
        let mut w = Writer { format, fields, csv: None, out: None, rows: 0 };
        match format {
            Format::Csv => {
                let mut csv = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
                csv.write_record(&w.fields).map_err(csv_io)?;
                w.csv = Some(csv);
            }
            Format::Json => {
                let mut out = out;
                out.write_all(b"[")?;
                w.out = Some(out);
            }
            Format::Jsonl => w.out = Some(out),
        }
        Ok(w)
    }

    /// Writes one record (its JSON as the API shows it).
    pub fn record(&mut self, record: &Value) -> io::Result<()> {
        if let Some(csv) = &mut self.csv {
            let cells: Vec<String> = self.fields.iter().map(|f| cell(at(record, f))).collect();
            csv.write_record(&cells).map_err(csv_io)?;
        } else if let Some(out) = &mut self.out {
            if self.format == Format::Json && self.rows > 0 {
                out.write_all(b",")?;
            }
            if self.format == Format::Json {
                out.write_all(b"\n")?;
            }
            serde_json::to_writer(&mut *out, &nested(record, &self.fields))?;
            if self.format == Format::Jsonl {
                out.write_all(b"\n")?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Ends the export and hands back the output.
    pub fn finish(mut self) -> io::Result<W> {
        if let Some(csv) = self.csv.take() {
            return csv.into_inner().map_err(|e| e.into_error());
        }
        let mut out = self.out.take().ok_or_else(|| io::Error::other("export already finished"))?;
        if self.format == Format::Json {
            out.write_all(if self.rows > 0 { b"\n]\n" } else { b"]\n" })?;
        }
        Ok(out)
    }
}

impl<W: Write> Writer<W> {
    /// Pushes what is buffered through to the output.
    pub fn flush(&mut self) -> io::Result<()> {
        match (&mut self.csv, &mut self.out) {
            (Some(csv), _) => csv.flush(),
            (None, Some(out)) => out.flush(),
            _ => Ok(()),
        }
    }
}

/// An output a [`Writer`] fills and its owner empties as it goes (to stream an export on).
#[derive(Clone, Default)]
pub struct Spool(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Spool {
    /// What was written since the last call.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn export(format: Format, fields: Vec<&'static str>, records: &[Value]) -> String {
        let mut w = Writer::new(format, fields, Vec::new()).unwrap();
        for r in records {
            w.record(r).unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    /// An output that fills up (the inline export's cap).
    struct Full(usize);
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 + buf.len() > 1000 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "full"));
            }
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_output_is_told_as_full_in_every_format() {
        for format in [Format::Csv, Format::Json, Format::Jsonl] {
            let mut w = Writer::new(format, vec!["id", "notes"], Full(0)).unwrap();
            let record = json!({"id": "x", "notes": "n".repeat(100)});
            let err = match (0..100).find_map(|_| w.record(&record).err()) {
                Some(e) => e,
                None => w.finish().err().expect("the output is full"),
            };
            assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{format:?}");
        }
    }

    #[test]
    fn csv_is_rfc_4180_with_names_intact() {
        let records = [
            json!({"firstName": "Åsa", "lastName": "Öberg", "email": null, "notes": "line one\nline \"two\", three"}),
            json!({"firstName": "Luis", "lastName": "Pérez, Jr.", "email": "luis@example.com"}),
        ];
        let out = export(Format::Csv, vec!["firstName", "lastName", "email", "notes"], &records);
        assert_eq!(
            out,
            "firstName,lastName,email,notes\r\nÅsa,Öberg,,\"line one\nline \"\"two\"\", three\"\r\nLuis,\"Pérez, Jr.\",luis@example.com,\r\n"
        );
    }

    #[test]
    fn nested_fields_flatten_in_csv_and_nest_again_in_json() {
        let record = json!({"id": "tst_1", "results": {"vo2maxMlKgMin": 51.2, "lt1": {"load": 175.0, "unit": "W"}}, "stages": [{"number": 1}]});
        let fields = select(TEST_FIELDS, Some("id,results.lt1,results.vo2maxMlKgMin,stages")).unwrap();
        assert_eq!(
            fields,
            [
                "id",
                "results.lt1.load",
                "results.lt1.unit",
                "results.lt1.heartRateBpm",
                "results.lt1.lactateMmol",
                "results.lt1.method",
                "results.vo2maxMlKgMin",
                "stages"
            ]
        );
        let csv = export(
            Format::Csv,
            vec!["id", "results.lt1.load", "results.vo2maxMlKgMin", "stages"],
            std::slice::from_ref(&record),
        );
        assert_eq!(
            csv,
            "id,results.lt1.load,results.vo2maxMlKgMin,stages\r\ntst_1,175.0,51.2,\"[{\"\"number\"\":1}]\"\r\n"
        );
        let jsonl =
            export(Format::Jsonl, vec!["id", "results.lt1.load", "results.vo2maxMlKgMin"], &[record.clone(), record]);
        let lines: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], json!({"id": "tst_1", "results": {"lt1": {"load": 175.0}, "vo2maxMlKgMin": 51.2}}));
    }

    #[test]
    fn json_is_one_array_even_when_empty() {
        assert_eq!(serde_json::from_str::<Value>(&export(Format::Json, vec!["id"], &[])).unwrap(), json!([]));
        let two = export(Format::Json, vec!["id"], &[json!({"id": "a"}), json!({"id": "b", "x": 1})]);
        assert_eq!(serde_json::from_str::<Value>(&two).unwrap(), json!([{"id": "a"}, {"id": "b"}]));
    }

    #[test]
    fn unknown_fields_are_named() {
        assert_eq!(select(ATHLETE_FIELDS, Some("email,nickname")), Err("nickname".into()));
        assert_eq!(select(ATHLETE_FIELDS, Some("email,,id")), Err(String::new()));
        assert_eq!(select(ATHLETE_FIELDS, Some("email, id")), Err(" id".into()));
        assert_eq!(select(ATHLETE_FIELDS, Some("lastName,firstName,lastName")).unwrap(), ["lastName", "firstName"]);
        assert_eq!(select(ATHLETE_FIELDS, None).unwrap(), ATHLETE_FIELDS);
    }
}
