//! Reading what `mongoexport` writes: one JSON document per line, or one JSON array of them
//! (`--jsonArray`), in Extended JSON v2, relaxed or canonical. Documents are read one at a
//! time from a buffered reader, never the whole file, and each comes with the line it starts on
//! so an error can say where.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The largest document read: MongoDB's own limit on a document (16 MiB), which no export of a
/// real collection exceeds. A document is held whole while it is read; past this an export is
/// refused rather than buffered without bound.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// What is wrong with an export file, and where.
#[derive(Debug, thiserror::Error)]
#[error("{file}, line {line}: {problem}")]
pub struct FileError {
    pub file: String,
    pub line: u64,
    pub problem: String,
}

/// A document, with the line of the file it starts on.
pub type NumberedDocument = (u64, Map<String, Value>);

/// The documents of one export file, in order.
pub struct Documents {
    file: String,
    bytes: std::io::Bytes<BufReader<File>>,
    line: u64,
    /// Inside `[ ... ]` (`--jsonArray`), once the opening bracket was read.
    array: Option<ArrayState>,
    buffer: Vec<u8>,
    done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    /// Just after `[` or after a `,`: a document comes next (or `]` right after `[`).
    ExpectDocument,
    /// After a document: `,` or `]` comes next.
    ExpectSeparator,
    Closed,
}

impl Documents {
    pub fn open(path: &Path) -> Result<Self, FileError> {
        let file = display(path);
        let handle = File::open(path).map_err(|e| FileError {
            file: file.clone(),
            line: 0,
            problem: format!("cannot open: {e}"),
        })?;
        Ok(Self {
            file,
            bytes: BufReader::with_capacity(256 * 1024, handle).bytes(),
            line: 1,
            array: None,
            buffer: Vec::with_capacity(1024),
            done: false,
        })
    }

    pub fn file_name(&self) -> &str {
        &self.file
    }

    fn error(&self, line: u64, problem: impl Into<String>) -> FileError {
        FileError { file: self.file.clone(), line, problem: problem.into() }
    }

    fn next_byte(&mut self) -> Result<Option<u8>, FileError> {
        match self.bytes.next() {
            None => Ok(None),
            Some(Ok(byte)) => {
                if byte == b'\n' {
                    self.line += 1;
                }
                Ok(Some(byte))
            }
            Some(Err(e)) => Err(self.error(self.line, format!("cannot read: {e}"))),
        }
    }

    /// The next byte that is not whitespace.
    fn next_token(&mut self) -> Result<Option<u8>, FileError> {
        while let Some(byte) = self.next_byte()? {
            if !byte.is_ascii_whitespace() {
                return Ok(Some(byte));
            }
        }
        Ok(None)
    }

    /// The next document and the line it starts on; `None` at the end of the file.
    pub fn next_document(&mut self) -> Result<Option<NumberedDocument>, FileError> {
        if self.done {
            return Ok(None);
        }
        let Some(mut first) = self.next_token()? else {
            self.done = true;
            return match self.array {
                Some(ArrayState::Closed) | None => Ok(None),
                Some(_) => Err(self.error(self.line, "the file ends inside the array: `]` is missing")),
            };
        };
        if self.array.is_none() && first == b'[' {
            self.array = Some(ArrayState::ExpectDocument);
            match self.next_token()? {
                Some(b']') => {
                    self.array = Some(ArrayState::Closed);
                    return self.next_document();
                }
                Some(byte) => first = byte,
                None => return Err(self.error(self.line, "the file ends inside the array: `]` is missing")),
            }
        }
        match self.array {
            Some(ArrayState::Closed) => return Err(self.error(self.line, "text after the closing `]` of the array")),
            Some(ArrayState::ExpectSeparator) => match first {
                b',' => match self.next_token()? {
                    Some(byte) => first = byte,
                    None => return Err(self.error(self.line, "the file ends after a `,`")),
                },
                b']' => {
                    self.array = Some(ArrayState::Closed);
                    return self.next_document();
                }
                other => {
                    return Err(self.error(
                        self.line,
                        format!("expected `,` or `]` between documents, found `{}`", other as char),
                    ));
                }
            },
            _ => {}
        }
        let line = self.line;
        if first != b'{' {
            return Err(self.error(line, format!("expected a document (`{{`), found `{}`", first as char)));
        }
        self.read_object(line)?;
        if self.array.is_some() {
            self.array = Some(ArrayState::ExpectSeparator);
        }
        match serde_json::from_slice::<Value>(&self.buffer) {
            Ok(Value::Object(document)) => Ok(Some((line, document))),
            Ok(_) => Err(self.error(line, "expected a document")),
            Err(e) => Err(self.error(line + e.line().saturating_sub(1) as u64, format!("invalid JSON: {e}"))),
        }
    }

    /// Copies one `{ ... }` into the buffer, following strings and nesting; at most
    /// [`MAX_DOCUMENT_BYTES`].
    fn read_object(&mut self, line: u64) -> Result<(), FileError> {
        self.buffer.clear();
        self.buffer.push(b'{');
        let (mut depth, mut in_string, mut escaped) = (1usize, false, false);
        while depth > 0 {
            let Some(byte) = self.next_byte()? else {
                return Err(self.error(line, "the document never ends: the file stops inside it"));
            };
            if self.buffer.len() == MAX_DOCUMENT_BYTES {
                return Err(self.error(
                    line,
                    format!(
                        "the document starting here is larger than {} MiB, MongoDB's own limit for one document",
                        MAX_DOCUMENT_BYTES / (1024 * 1024)
                    ),
                ));
            }
            self.buffer.push(byte);
            if in_string {
                match (escaped, byte) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth -= 1,
                _ => {}
            }
        }
        Ok(())
    }
}

fn display(path: &Path) -> String {
    PathBuf::from(path).display().to_string()
}

/// A MongoDB ObjectId: 12 bytes, the first 4 its creation time in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId([u8; 12]);

impl ObjectId {
    pub fn parse_hex(hex: &str) -> Option<Self> {
        if hex.len() != 24 {
            return None;
        }
        let mut bytes = [0u8; 12];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// Lower-case hex, as MongoDB prints it: the id movie-bag keeps for the row.
    pub fn to_hex(self) -> String {
        // Once per document of an import: one allocation, not one per byte.
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(24);
        for byte in self.0 {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }

    /// When the document was created, from the id's first four bytes.
    pub fn created_at(self) -> DateTime<Utc> {
        let seconds = u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]);
        DateTime::from_timestamp(i64::from(seconds), 0).unwrap_or_default()
    }
}

/// An ObjectId in Extended JSON (`{"$oid": "..."}`), or a plain 24-hex string.
pub fn object_id(value: &Value) -> Option<ObjectId> {
    match value {
        Value::Object(map) => map.get("$oid").and_then(Value::as_str).and_then(ObjectId::parse_hex),
        Value::String(hex) => ObjectId::parse_hex(hex),
        _ => None,
    }
}

/// A string field, unwrapping nothing: Extended JSON writes strings as strings.
pub fn string(value: &Value) -> Option<&str> {
    value.as_str()
}

/// A list entry as text: strings as they are, numbers (plain, `$numberInt`, `$numberLong`,
/// `$numberDouble`) and booleans as they print; anything else has no text.
pub fn entry_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Object(map) if map.len() == 1 => ["$numberInt", "$numberLong", "$numberDouble", "$numberDecimal"]
            .iter()
            .find_map(|key| map.get(*key).and_then(Value::as_str).map(str::to_owned)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn documents_of(text: &str) -> Result<Vec<NumberedDocument>, FileError> {
        let path = std::env::temp_dir().join(format!("movie-bag-export-{}.json", uuid::Uuid::now_v7()));
        std::fs::File::create(&path).unwrap().write_all(text.as_bytes()).unwrap();
        let documents = Documents::open(&path);
        let _ = std::fs::remove_file(&path);
        let mut documents = documents?;
        let mut all = Vec::new();
        while let Some(document) = documents.next_document()? {
            all.push(document);
        }
        Ok(all)
    }

    #[test]
    fn json_lines_and_arrays_give_the_same_documents_with_their_lines() {
        let lines = documents_of("{\"a\":1}\n{\"b\":\"x}{\"}\n\n{\"c\":[1,{\"d\":2}]}\n").unwrap();
        let array = documents_of("[{\"a\":1},\n{\"b\":\"x}{\"},\n\n{\"c\":[1,{\"d\":2}]}]").unwrap();
        let values = |docs: &[NumberedDocument]| docs.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>();
        assert_eq!(values(&lines), values(&array));
        assert_eq!(lines.iter().map(|(line, _)| *line).collect::<Vec<_>>(), vec![1, 2, 4]);
        assert_eq!(array.iter().map(|(line, _)| *line).collect::<Vec<_>>(), vec![1, 2, 4]);
        assert!(documents_of("[]").unwrap().is_empty());
        assert!(documents_of("").unwrap().is_empty());
    }

    #[test]
    fn a_malformed_file_names_the_line_and_the_problem() {
        let error = documents_of("{\"a\":1}\n{\"b\":}\n").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
        assert!(error.problem.contains("invalid JSON"), "{error}");
        let error = documents_of("{\"a\":1}\n{\"b\":2").unwrap_err();
        assert!(error.problem.contains("never ends"), "{error}");
        let error = documents_of("[{\"a\":1}\n{\"b\":2}]").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.problem.contains("expected `,` or `]`"), "{error}");
        let error = documents_of("[{\"a\":1},").unwrap_err();
        assert!(error.problem.contains("ends after"), "{error}");
        let error = documents_of("42\n").unwrap_err();
        assert!(error.problem.contains("expected a document"), "{error}");
    }

    #[test]
    fn a_document_of_16_mib_is_read_and_one_byte_more_is_refused_naming_its_line() {
        // `{"a":"xxx...x"}`: 8 bytes around the string.
        let document = |bytes: usize| format!("{{\"a\":\"{}\"}}", "x".repeat(bytes - 8));
        let read = documents_of(&format!("{{}}\n{}\n", document(MAX_DOCUMENT_BYTES))).unwrap();
        assert_eq!(read.len(), 2);
        let error = documents_of(&format!("{{}}\n{}\n{{}}\n", document(MAX_DOCUMENT_BYTES + 1))).unwrap_err();
        assert_eq!(error.line, 2, "{error}");
        assert!(error.problem.contains("larger than 16 MiB"), "{error}");
        let error = documents_of(&format!("[{{}},\n\n{}]", document(MAX_DOCUMENT_BYTES + 1))).unwrap_err();
        assert_eq!(error.line, 3, "{error}");
    }

    #[test]
    fn object_ids_give_hex_ids_and_creation_times() {
        let id = object_id(&serde_json::json!({"$oid": "5f4b1f2e9d1c8a0017a1b2c3"})).unwrap();
        assert_eq!(id.to_hex(), "5f4b1f2e9d1c8a0017a1b2c3");
        assert_eq!(id.created_at().to_rfc3339(), "2020-08-30T03:38:22+00:00");
        assert!(object_id(&serde_json::json!({"$oid": "xyz"})).is_none());
        assert_eq!(entry_text(&serde_json::json!({"$numberLong": "42"})).as_deref(), Some("42"));
        assert_eq!(entry_text(&serde_json::json!(7)).as_deref(), Some("7"));
        assert!(entry_text(&serde_json::json!(null)).is_none());
    }
}
