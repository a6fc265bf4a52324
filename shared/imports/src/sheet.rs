//! Spreadsheets as people really export them: UTF-8 with or without a BOM, CRLF or LF, `;`, `,`
//! or tab separators, quoted fields with embedded newlines, and a header row in the source
//! system's own words. Each data row becomes the JSON object the API takes, by the column mapping
//! the client sent or, for the columns it doesn't name, by recognising common headers
//! ("E-mail", "First name", "Member #", "DOB"…). Unmapped columns are ignored and reported.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A file's dialect, found from its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub delimiter: u8,
    /// The file starts with a UTF-8 byte-order mark (skipped).
    pub bom: bool,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The delimiter is the one of `,` `;` tab that occurs most in the header line outside quotes
/// (`,` on a tie or none).
pub fn sniff(head: &[u8]) -> Dialect {
    let bom = head.starts_with(BOM);
    let body = if bom { &head[BOM.len()..] } else { head };
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in body {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                for (d, n) in counts.iter_mut() {
                    if *d == b {
                        *n += 1;
                    }
                }
            }
            _ => {}
        }
    }
    let delimiter = counts.iter().fold((b',', 0), |best, &(d, n)| if n > best.1 { (d, n) } else { best }).0;
    Dialect { delimiter, bom }
}

/// The API field a header stands for when the client's mapping doesn't say: the header folded
/// (case, accents, spaces and punctuation dropped) against common spellings.
pub fn recognise(header: &str, fields: &[&'static str]) -> Option<&'static str> {
    let key: String = iron_domain::search::fold(header).chars().filter(char::is_ascii_alphanumeric).collect();
    if let Some(f) = fields.iter().find(|f| f.to_ascii_lowercase() == key) {
        return Some(f);
    }
    let synonym = match key.as_str() {
        "mail" | "emailaddress" | "correo" | "correoelectronico" => "email",
        "first" | "firstname" | "givenname" | "forename" | "nombre" => "firstName",
        "last" | "lastname" | "surname" | "familyname" | "apellido" | "apellidos" => "lastName",
        "member" | "memberno" | "membernumber" | "memberid" | "clientid" | "customerid" | "crmid" | "externalid" => {
            "externalId"
        }
        "mobile" | "phonenumber" | "telephone" | "tel" | "telefono" | "cell" => "phone",
        "dob" | "dateofbirth" | "birthday" | "birthdate" | "fechadenacimiento" => "birthDate",
        "gender" | "sexo" => "sex",
        "joined" | "joindate" | "membersince" | "startdate" | "joinedon" => "joinedOn",
        _ => return None,
    };
    fields.contains(&synonym).then_some(synonym)
}

/// How the columns of a file map to API fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    /// Per column: the API field it fills (dotted for nested test fields), or none.
    pub targets: Vec<Option<String>>,
    /// Headers no field takes (reported, never an error).
    pub ignored: Vec<String>,
}

/// Maps a header row: the client's `mapping` (header → field, exact header text) first, then
/// [`recognise`]. `Err` names a mapping entry whose header isn't in the file or whose field isn't
/// one, or a field two columns would fill.
pub fn columns(
    headers: &[String],
    mapping: &BTreeMap<String, String>,
    fields: &[&'static str],
) -> Result<Columns, String> {
    for (header, field) in mapping {
        if !headers.iter().any(|h| h.trim() == header.trim()) {
            return Err(format!("the mapping names the column `{header}`, which the file's header row doesn't have"));
        }
        let root = field.split('.').next().unwrap_or(field);
        if !fields.contains(&field.as_str()) && !fields.contains(&root) {
            return Err(format!(
                "the mapping maps `{header}` to `{field}`, which is not a field; fields: {}",
                fields.join(", ")
            ));
        }
    }
    let mut targets = Vec::new();
    let mut ignored = Vec::new();
    for h in headers {
        let target = match mapping.get(h.trim()) {
            Some(f) => Some(f.clone()),
            None if mapping.values().any(|v| recognise(h, fields) == Some(v.as_str())) => None,
            None => recognise(h, fields).map(str::to_owned),
        };
        if target.is_none() && !h.trim().is_empty() {
            ignored.push(h.clone());
        }
        if let Some(t) = &target
            && targets.iter().flatten().any(|o: &String| o == t)
        {
            return Err(format!("two columns map to `{t}`; map one of them elsewhere or to nothing"));
        }
        targets.push(target);
    }
    Ok(Columns { targets, ignored })
}

/// The JSON object of one data row: empty cells are left out (a blank cell changes nothing);
/// cells are strings, but `numeric` fields whose cell parses as a number become numbers, and
/// dotted targets nest (`stages.0.durationS` → `{"stages": [{"durationS": …}]}`).
pub fn row_object(record: &csv::StringRecord, cols: &Columns, numeric: &[&str]) -> Map<String, Value> {
    let mut out = Value::Object(Map::new());
    for (cell, target) in record.iter().zip(&cols.targets) {
        let (Some(target), cell) = (target, cell.trim()) else { continue };
        if cell.is_empty() {
            continue;
        }
        let leaf = target.rsplit('.').next().unwrap_or(target);
        let value = if numeric.contains(&leaf) {
            cell.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|n| if n.fract() == 0.0 && n.abs() < 9e15 { Value::from(n as i64) } else { Value::from(n) })
                .unwrap_or_else(|| Value::String(cell.to_owned()))
        } else {
            Value::String(cell.to_owned())
        };
        insert(&mut out, target, value);
    }
    match out {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn insert(node: &mut Value, path: &str, value: Value) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    match node {
        Value::Array(items) => {
            let Ok(i) = head.parse::<usize>() else { return };
            if i > 1000 {
                return;
            }
            while items.len() <= i {
                items.push(Value::Object(Map::new()));
            }
            match rest {
                Some(r) => insert(&mut items[i], r, value),
                None => items[i] = value,
            }
        }
        Value::Object(map) => match rest {
            None => {
                map.insert(head.to_owned(), value);
            }
            Some(r) => {
                let next_is_index = r.split('.').next().is_some_and(|n| n.parse::<usize>().is_ok());
                let child = map.entry(head.to_owned()).or_insert_with(|| {
                    if next_is_index { Value::Array(Vec::new()) } else { Value::Object(Map::new()) }
                });
                insert(child, r, value);
            }
        },
        _ => {}
    }
}

/// A CSV reader over `input` in its dialect (the BOM skipped, the header row read by the caller).
pub fn reader<R: std::io::Read>(dialect: Dialect, input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new().delimiter(dialect.delimiter).flexible(true).has_headers(true).from_reader(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use iron_domain::athlete::FIELDS;

    fn read(bytes: &[u8], mapping: &[(&str, &str)]) -> (Vec<Map<String, Value>>, Vec<String>) {
        let dialect = sniff(bytes);
        let body = if dialect.bom { &bytes[3..] } else { bytes };
        let mut r = reader(dialect, body);
        let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
        let mapping = mapping.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let cols = columns(&headers, &mapping, FIELDS).unwrap();
        let rows = r.records().map(|rec| row_object(&rec.unwrap(), &cols, &[])).collect();
        (rows, cols.ignored)
    }

    #[test]
    fn spreadsheet_dialects_read_the_same() {
        let want = vec![
            serde_json::json!({"firstName": "Åsa", "lastName": "Öberg", "email": "asa@example.com", "externalId": "M-1"}),
            serde_json::json!({"firstName": "Luis", "lastName": "Pérez, Jr.", "externalId": "M-2"}),
        ];
        let files: [&[u8]; 4] = [
            "First name,Surname,E-mail,Member #\nÅsa,Öberg,asa@example.com,M-1\nLuis,\"Pérez, Jr.\",,M-2\n".as_bytes(),
            "\u{feff}First name;Surname;E-mail;Member #\r\nÅsa;Öberg;asa@example.com;M-1\r\nLuis;Pérez, Jr.;;M-2\r\n".as_bytes(),
            "First name\tSurname\tE-mail\tMember #\r\nÅsa\tÖberg\tasa@example.com\tM-1\r\nLuis\tPérez, Jr.\t\tM-2".as_bytes(),
            "\"First name\",\"Surname\",\"E-mail\",\"Member #\"\n\"Åsa\",\"Öberg\",\"asa@example.com\",\"M-1\"\n\"Luis\",\"Pérez, Jr.\",\"\",\"M-2\"\n".as_bytes(),
        ];
        for f in files {
            let (rows, ignored) = read(f, &[]);
            let rows: Vec<Value> = rows.into_iter().map(Value::Object).collect();
            assert_eq!(rows, want, "{}", String::from_utf8_lossy(f));
            assert!(ignored.is_empty());
        }
    }

    #[test]
    fn quoted_newlines_mapping_and_ignored_columns() {
        let file = "Nombre;Apellidos;Correo;Notas;Código\r\n\"Ana\";\"García\nLópez\";ana@example.com;\"line 1\r\nline 2\";A-9\r\n";
        let (rows, ignored) = read(file.as_bytes(), &[("Código", "externalId")]);
        assert_eq!(
            Value::Object(rows[0].clone()),
            serde_json::json!({"firstName": "Ana", "lastName": "García\nLópez", "email": "ana@example.com", "externalId": "A-9"})
        );
        assert_eq!(ignored, ["Notas"]);
    }

    #[test]
    fn mapping_mistakes_are_named() {
        let headers: Vec<String> = ["E-mail", "Mail"].iter().map(|s| s.to_string()).collect();
        let m = |pairs: &[(&str, &str)]| pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert!(columns(&headers, &m(&[("Email address", "email")]), FIELDS).unwrap_err().contains("`Email address`"));
        assert!(columns(&headers, &m(&[("Mail", "nickname")]), FIELDS).unwrap_err().contains("`nickname`"));
        assert!(columns(&headers, &m(&[]), FIELDS).unwrap_err().contains("two columns map to `email`"));
        // Mapping one of them elsewhere settles it; the other is recognised.
        let cols = columns(&headers, &m(&[("Mail", "externalId")]), FIELDS).unwrap();
        assert_eq!(cols.targets, [Some("email".to_owned()), Some("externalId".to_owned())]);
    }

    #[test]
    fn nested_test_columns_build_the_object_the_api_takes() {
        let mut record = csv::StringRecord::new();
        for c in ["ath_1", "row_2k", "2026-11-20T18:00:00Z", "1", "445", "2000.0", ""] {
            record.push_field(c);
        }
        let cols = Columns {
            targets: [
                "athleteId",
                "testType",
                "performedAt",
                "stages.0.number",
                "stages.0.durationS",
                "stages.0.distanceM",
                "notes",
            ]
            .iter()
            .map(|s| Some(s.to_string()))
            .collect(),
            ignored: vec![],
        };
        let obj = row_object(&record, &cols, &["number", "durationS", "distanceM"]);
        assert_eq!(
            Value::Object(obj),
            serde_json::json!({"athleteId": "ath_1", "testType": "row_2k", "performedAt": "2026-11-20T18:00:00Z",
                               "stages": [{"number": 1, "durationS": 445, "distanceM": 2000}]})
        );
    }

    #[test]
    fn sniffing_ignores_quoted_delimiters() {
        assert_eq!(sniff(b"\"a;b;c\",d\n").delimiter, b',');
        assert_eq!(sniff(b"a;b,c;d\n").delimiter, b';');
        assert_eq!(sniff(b"single\n").delimiter, b',');
        assert!(sniff(b"\xEF\xBB\xBFa,b").bom);
    }
}
