//! Reading an import file from the blob store a window at a time, from any row's byte offset:
//! what lets a job stop after any chunk and resume exactly there. A record is taken only when
//! the window holds all of it (a quoted field may span lines and windows).

use crate::sheet::{self, Columns};
use iron_domain::bulk::{RowError, RowErrorCode};
use iron_domain::job::{FileFormat, FileLayout};
use iron_store::BlobStore;
use iron_store::table::StoreError;
use serde_json::{Map, Value};

/// Bytes read from the blob store at a time.
pub const WINDOW: usize = 1024 * 1024;
/// A record larger than this is refused (an unclosed quote, most likely).
pub const MAX_RECORD: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the uploaded file is missing")]
    Missing,
    #[error("{0}")]
    Unreadable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One record as read: CSV cells or a JSON line.
#[derive(Debug, Clone)]
pub enum Raw {
    Csv(csv::StringRecord),
    Json(String),
}

#[derive(Debug, Clone)]
pub struct RawRow {
    /// 0-based data row (the header not counted).
    pub index: u64,
    /// Where the record starts in the file.
    pub start: u64,
    pub raw: Raw,
}

pub struct RowReader<'a> {
    blobs: &'a dyn BlobStore,
    key: String,
    format: FileFormat,
    delimiter: u8,
    /// File offset of `buf[0]`.
    base: u64,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    index: u64,
}

impl<'a> RowReader<'a> {
    /// A reader at `offset`, the start of data row `index`.
    pub fn new(
        blobs: &'a dyn BlobStore,
        key: &str,
        format: FileFormat,
        delimiter: u8,
        offset: u64,
        index: u64,
    ) -> Self {
        RowReader {
            blobs,
            key: key.to_owned(),
            format,
            delimiter,
            base: offset,
            buf: Vec::new(),
            pos: 0,
            eof: false,
            index,
        }
    }

    /// Where the next record starts.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    async fn refill(&mut self) -> Result<(), FileError> {
        self.buf.drain(..self.pos);
        self.base += self.pos as u64;
        self.pos = 0;
        let at = self.base + self.buf.len() as u64;
        let more = self.blobs.read(&self.key, at, WINDOW).await?.ok_or(FileError::Missing)?;
        if more.len() < WINDOW {
            self.eof = true;
        }
        self.buf.extend_from_slice(&more);
        Ok(())
    }

    /// Up to `max` records (fewer only at the end of the file).
    pub async fn next_rows(&mut self, max: usize) -> Result<Vec<RawRow>, FileError> {
        let mut out = Vec::new();
        while out.len() < max {
            let before = out.len();
            let complete = match self.format {
                FileFormat::Csv => self.take_csv(&mut out, max),
                _ => self.take_lines(&mut out, max)?,
            };
            if out.len() == max || (complete && self.eof) {
                break;
            }
            if self.eof && out.len() == before {
                break;
            }
            if self.buf.len() - self.pos > MAX_RECORD {
                return Err(FileError::Unreadable(format!(
                    "row {} is over {} MB: is a quote left open?",
                    self.index + 1,
                    MAX_RECORD >> 20
                )));
            }
            if !self.eof {
                self.refill().await?;
            }
        }
        Ok(out)
    }

    /// Takes the complete CSV records in the window; `true` when the window is used up.
    fn take_csv(&mut self, out: &mut Vec<RawRow>, max: usize) -> bool {
        let data = &self.buf[self.pos..];
        let mut rdr =
            csv::ReaderBuilder::new().delimiter(self.delimiter).flexible(true).has_headers(false).from_reader(data);
        let mut rec = csv::StringRecord::new();
        let mut taken = 0usize;
        loop {
            if out.len() == max {
                break;
            }
            let start = rdr.position().byte() as usize;
            match rdr.read_record(&mut rec) {
                Ok(true) => {
                    let end = rdr.position().byte() as usize;
                    // A record that reaches the window's end may go on in the next one.
                    if end >= data.len() && !self.eof {
                        break;
                    }
                    let record_start = rec.position().map(|p| p.byte() as usize).unwrap_or(start);
                    out.push(RawRow {
                        index: self.index,
                        start: self.base + (self.pos + record_start) as u64,
                        raw: Raw::Csv(rec.clone()),
                    });
                    self.index += 1;
                    taken = end;
                }
                Ok(false) => {
                    taken = data.len();
                    break;
                }
                // Invalid UTF-8 in a cell: the row is taken as the bytes read lossily.
                Err(_) => {
                    let end = rdr.position().byte() as usize;
                    if end >= data.len() && !self.eof {
                        break;
                    }
                    let text = String::from_utf8_lossy(&data[start..end]).into_owned();
                    out.push(RawRow {
                        index: self.index,
                        start: self.base + (self.pos + start) as u64,
                        raw: Raw::Json(format!("\u{0}{text}")),
                    });
                    self.index += 1;
                    taken = end;
                }
            }
        }
        self.pos += taken;
        self.pos >= self.buf.len()
    }

    fn take_lines(&mut self, out: &mut Vec<RawRow>, max: usize) -> Result<bool, FileError> {
        while out.len() < max {
            let data = &self.buf[self.pos..];
            if data.is_empty() {
                return Ok(true);
            }
            let (line, used) = match data.iter().position(|b| *b == b'\n') {
                Some(n) => (&data[..n], n + 1),
                None if self.eof => (data, data.len()),
                None => return Ok(false),
            };
            let start = self.offset();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            // Invalid UTF-8: the row is refused (as in CSV), never imported with stand-ins.
            let text = match std::str::from_utf8(line) {
                Ok(t) => t.to_owned(),
                Err(_) => format!("\u{0}{}", String::from_utf8_lossy(line)),
            };
            self.pos += used;
            if text.trim().is_empty() {
                continue;
            }
            out.push(RawRow { index: self.index, start, raw: Raw::Json(text) });
            self.index += 1;
        }
        Ok(self.pos >= self.buf.len())
    }
}

/// Looks at a file before its rows are read: size, dialect and header row (CSV), how many data
/// rows (counted, so progress has a total), and how the columns map.
pub async fn layout(
    blobs: &dyn BlobStore,
    key: &str,
    format: FileFormat,
    mapping: &std::collections::BTreeMap<String, String>,
    fields: &[&'static str],
) -> Result<(FileLayout, Option<Columns>), FileError> {
    let info = blobs.info(key).await?.ok_or(FileError::Missing)?;
    let mut layout = FileLayout { bytes: info.size, ..FileLayout::default() };
    let mut columns = None;
    if format == FileFormat::Csv {
        let head = blobs.read(key, 0, WINDOW).await?.ok_or(FileError::Missing)?;
        let dialect = sheet::sniff(&head);
        let skip = if dialect.bom { 3 } else { 0 };
        let mut reader = RowReader::new(blobs, key, format, dialect.delimiter, skip, 0);
        let header = reader.next_rows(1).await?;
        let Some(RawRow { raw: Raw::Csv(header), .. }) = header.into_iter().next() else {
            return Err(FileError::Unreadable("the file is empty: it needs a header row".into()));
        };
        let headers: Vec<String> = header.iter().map(|h| h.trim().to_owned()).collect();
        let cols = sheet::columns(&headers, mapping, fields).map_err(FileError::Unreadable)?;
        if cols.targets.iter().all(Option::is_none) {
            return Err(FileError::Unreadable(format!(
                "no column of the header row ({}) is a field: send a mapping",
                headers.join(", ")
            )));
        }
        layout.data_offset = reader.offset();
        layout.delimiter = Some(dialect.delimiter);
        layout.ignored_columns = cols.ignored.clone();
        layout.headers = headers;
        columns = Some(cols);
    } else if !mapping.is_empty() {
        return Err(FileError::Unreadable("a column mapping is for CSV files; JSON lines name their fields".into()));
    } else {
        // JSON lines may start with a BOM too.
        let head = blobs.read(key, 0, 3).await?.ok_or(FileError::Missing)?;
        if head == b"\xEF\xBB\xBF" {
            layout.data_offset = 3;
        }
    }
    let mut reader = RowReader::new(blobs, key, format, layout.delimiter.unwrap_or(b','), layout.data_offset, 0);
    loop {
        let rows = reader.next_rows(5000).await?;
        layout.total_rows += rows.len() as u64;
        if rows.len() < 5000 {
            break;
        }
        if layout.total_rows > iron_domain::job::MAX_IMPORT_ROWS {
            break;
        }
    }
    Ok((layout, columns))
}

/// The columns of a CSV layout (again, for a later run of the job).
pub fn columns_of(
    layout: &FileLayout,
    mapping: &std::collections::BTreeMap<String, String>,
    fields: &[&'static str],
) -> Option<Columns> {
    layout.delimiter?;
    sheet::columns(&layout.headers, mapping, fields).ok()
}

/// A record as the API object the row stands for, or why it isn't one.
pub fn object(row: &RawRow, columns: Option<&Columns>, numeric: &[&str]) -> Result<Map<String, Value>, RowError> {
    let index = row.index as usize;
    match (&row.raw, columns) {
        (Raw::Csv(rec), Some(cols)) => Ok(sheet::row_object(rec, cols, numeric)),
        (Raw::Json(text), _) if text.starts_with('\u{0}') => {
            Err(RowError::new(index, "", RowErrorCode::Invalid, "the row is not valid UTF-8"))
        }
        (Raw::Json(text), _) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(RowError::new(index, "", RowErrorCode::Invalid, "the line is not a JSON object")),
            Err(e) => Err(RowError::new(index, "", RowErrorCode::Invalid, format!("the line is not JSON: {e}"))),
        },
        (Raw::Csv(_), None) => Err(RowError::new(index, "", RowErrorCode::Invalid, "a CSV row without a header")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iron_store::{BlobStore, FileBlobs, SystemClock};
    use std::sync::Arc;

    /// A file of a few windows whose records have quoted newlines, separators and quotes at
    /// every position, some straddling a window's edge.
    fn file() -> (Vec<u8>, Vec<Vec<String>>) {
        let mut out = b"email;note\r\n".to_vec();
        let mut rows = Vec::new();
        let mut i = 0usize;
        while out.len() < WINDOW * 5 / 2 {
            let note = match i % 4 {
                0 => format!("line one\r\nline two {i}"),
                1 => format!("a; \"quoted\" {i}"),
                2 => "x".repeat(i % 700),
                _ => String::new(),
            };
            let quoted = format!("\"{}\"", note.replace('"', "\"\""));
            out.extend_from_slice(format!("m{i}@example.com;{quoted}\r\n").as_bytes());
            rows.push(vec![format!("m{i}@example.com"), note]);
            i += 1;
        }
        (out, rows)
    }

    async fn read_all(blobs: &dyn BlobStore, offset: u64, index: u64, batch: usize) -> Vec<RawRow> {
        let mut r = RowReader::new(blobs, "b/biz/imp/upload.csv", FileFormat::Csv, b';', offset, index);
        let mut all = Vec::new();
        loop {
            let rows = r.next_rows(batch).await.unwrap();
            if rows.is_empty() {
                return all;
            }
            all.extend(rows);
        }
    }

    #[tokio::test]
    async fn rows_read_across_windows_and_resumed_from_any_offset_are_the_files_rows() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FileBlobs::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let (bytes, expected) = file();
        blobs.put("b/biz/imp/upload.csv", bytes.clone(), "text/csv").await.unwrap();
        let (layout, _) =
            layout(&blobs, "b/biz/imp/upload.csv", FileFormat::Csv, &Default::default(), &["email"]).await.unwrap();
        assert_eq!(layout.total_rows as usize, expected.len());
        assert_eq!(layout.delimiter, Some(b';'));
        for batch in [1, 7, 200, 5000] {
            let rows = read_all(&blobs, layout.data_offset, 0, batch).await;
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| match &r.raw {
                    Raw::Csv(rec) => rec.iter().map(str::to_owned).collect(),
                    Raw::Json(_) => panic!("a CSV row"),
                })
                .collect();
            assert_eq!(cells, expected, "batches of {batch}");
            assert!(rows.iter().enumerate().all(|(i, r)| r.index == i as u64));
        }
        // From any row's start: the rest of the file, numbered on.
        let rows = read_all(&blobs, layout.data_offset, 0, 500).await;
        for k in [1usize, 999, rows.len() / 2, rows.len() - 1] {
            let rest = read_all(&blobs, rows[k].start, k as u64, 300).await;
            assert_eq!(rest.len(), rows.len() - k);
            assert_eq!(rest[0].start, rows[k].start);
            assert_eq!(rest.last().unwrap().index, rows.last().unwrap().index);
        }
    }

    #[tokio::test]
    async fn json_lines_skip_a_bom_and_blank_lines_and_refuse_invalid_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FileBlobs::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let mut bytes = b"\xEF\xBB\xBF{\"email\":\"a@example.com\"}\r\n\r\n".to_vec();
        bytes.extend_from_slice(b"{\"email\":\"b\xFF@example.com\"}\n[1]\n{\"email\":\"c@example.com\"}");
        let key = "b/biz/imp/upload.jsonl";
        blobs.put(key, bytes, "application/x-ndjson").await.unwrap();
        let (layout, cols) = layout(&blobs, key, FileFormat::Jsonl, &Default::default(), &["email"]).await.unwrap();
        assert_eq!((layout.data_offset, layout.total_rows), (3, 4));
        let mut r = RowReader::new(&blobs, key, FileFormat::Jsonl, b',', layout.data_offset, 0);
        let rows = r.next_rows(10).await.unwrap();
        let read: Vec<Result<Map<String, Value>, RowErrorCode>> =
            rows.iter().map(|row| object(row, cols.as_ref(), &[]).map_err(|e| e.code)).collect();
        assert_eq!(read[0].as_ref().unwrap()["email"], "a@example.com", "the BOM is not part of the first record");
        assert_eq!(read[1], Err(RowErrorCode::Invalid), "invalid UTF-8 is refused");
        assert_eq!(read[2], Err(RowErrorCode::Invalid), "not an object");
        assert_eq!(read[3].as_ref().unwrap()["email"], "c@example.com", "the last line needs no newline");
    }
}
