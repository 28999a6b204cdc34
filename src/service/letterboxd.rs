//! Reading a Letterboxd export: its zip, or one of its CSV files, into rows of raw fields.
//!
//! Only the format lives here (which file a header names, which column holds what, the zip's
//! bounds); what a row means for a library is `library_import.rs`'s. The CSVs are read with the
//! `csv` crate (quoted fields, commas and quotes in names, CRLF), the zip with the `zip` crate.
//! A zip is never unpacked whole: its entries are counted from the central directory before
//! anything is inflated, only the four files an import uses are read, each through a `take`
//! limit (a header's declared size is checked first but not trusted), and their sum is bounded.

use std::io::{Cursor, Read};

/// The files of an export that hold movies. The others (`profile.csv`, `reviews.csv`,
/// `comments.csv`, `lists/`, `likes/`, `deleted/`) are left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LetterboxdFile {
    Watchlist,
    Watched,
    Ratings,
    Diary,
}

impl LetterboxdFile {
    /// In the order an import applies them (a watchlist row never downgrades a watched one, in
    /// whichever order they come, but reports read best in this one).
    pub const ALL: [Self; 4] = [Self::Diary, Self::Ratings, Self::Watched, Self::Watchlist];

    pub fn file_name(self) -> &'static str {
        match self {
            Self::Watchlist => "watchlist.csv",
            Self::Watched => "watched.csv",
            Self::Ratings => "ratings.csv",
            Self::Diary => "diary.csv",
        }
    }

    /// `?file=`'s values: the file's name without `.csv`.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|file| file.file_name().strip_suffix(".csv") == Some(raw))
    }

    /// The header row Letterboxd writes at the top of the file.
    fn header(self) -> &'static [&'static str] {
        match self {
            Self::Watchlist | Self::Watched => &WATCH_HEADER,
            Self::Ratings => &RATINGS_HEADER,
            Self::Diary => &DIARY_HEADER,
        }
    }
}

const WATCH_HEADER: [&str; 4] = ["Date", "Name", "Year", "Letterboxd URI"];
const RATINGS_HEADER: [&str; 5] = ["Date", "Name", "Year", "Letterboxd URI", "Rating"];
const DIARY_HEADER: [&str; 8] = ["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date"];

/// A zip of more entries is refused before any is inflated: a Letterboxd export has a dozen
/// files and one per list, like and deleted item folder entry, far fewer than this.
pub const MAX_ZIP_ENTRIES: usize = 2_000;
/// The most one file of a zip may unpack to.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The most the files an import reads may unpack to together.
pub const MAX_UNPACKED_BYTES: u64 = 32 * 1024 * 1024;

/// One data row of a file, its fields as written (empty when the column is absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub file: LetterboxdFile,
    /// The line the row starts on, the header being line 1.
    pub line: u64,
    pub name: String,
    pub year: String,
    /// `ratings.csv` and `diary.csv` only.
    pub rating: String,
    /// `diary.csv` only.
    pub watched_date: String,
}

/// Why a body is not an export an import can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Not a Letterboxd export (or one of its CSVs): a 400, nothing written.
    #[error("{0}")]
    NotAnExport(String),
    /// Larger than an import reads, once unpacked (a zip bomb, thousands of entries): a 413.
    #[error("{0}")]
    TooLarge(String),
}

fn not_an_export(why: impl Into<String>) -> ExportError {
    ExportError::NotAnExport(why.into())
}

/// The rows of a lone CSV. `named` is `?file=`: needed for `watched.csv` and `watchlist.csv`,
/// whose headers are the same; when given, the header must be the named file's.
pub fn read_csv(bytes: &[u8], named: Option<LetterboxdFile>) -> Result<Vec<Row>, ExportError> {
    let header = header_of(bytes)?;
    let file = match named {
        Some(file) if file.header() == header.as_slice() => file,
        Some(file) => {
            return Err(not_an_export(format!("The file's header is not that of Letterboxd's {}", file.file_name())));
        }
        None if header == RATINGS_HEADER => LetterboxdFile::Ratings,
        None if header == DIARY_HEADER => LetterboxdFile::Diary,
        None if header == WATCH_HEADER => {
            return Err(not_an_export(
                "watched.csv and watchlist.csv share their header: name the file with ?file=watched or ?file=watchlist",
            ));
        }
        None => return Err(not_an_export("Not a Letterboxd CSV: its header row is none of Letterboxd's files'")),
    };
    rows_of(bytes, file)
}

/// The rows of every movie file in an export zip, diary first.
pub fn read_zip(bytes: &[u8]) -> Result<Vec<Row>, ExportError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| not_an_export("Not a zip archive, nor a CSV file"))?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(ExportError::TooLarge(format!(
            "The archive has {} entries; a Letterboxd export has at most {MAX_ZIP_ENTRIES}",
            archive.len()
        )));
    }
    let mut rows = Vec::new();
    let mut unpacked = 0u64;
    let mut found = false;
    for file in LetterboxdFile::ALL {
        let Some(text) = unpack(&mut archive, file.file_name(), MAX_UNPACKED_BYTES - unpacked)? else { continue };
        unpacked += text.len() as u64;
        found = true;
        let header = header_of(&text)?;
        if header != file.header() {
            return Err(not_an_export(format!("{} does not have Letterboxd's header row", file.file_name())));
        }
        rows.extend(rows_of(&text, file)?);
    }
    if !found {
        return Err(not_an_export(
            "Not a Letterboxd export: the archive has none of diary.csv, ratings.csv, watched.csv, watchlist.csv",
        ));
    }
    Ok(rows)
}

/// One entry's bytes, at most `MAX_FILE_BYTES` and `room`; `None` when the archive lacks it.
fn unpack(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str, room: u64) -> Result<Option<Vec<u8>>, ExportError> {
    let entry = match archive.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(_) => return Err(not_an_export(format!("{name} cannot be read from the archive"))),
    };
    let limit = MAX_FILE_BYTES.min(room);
    let too_large = || {
        ExportError::TooLarge(format!(
            "{name} unpacks to more than an import reads ({MAX_FILE_BYTES} bytes a file, {MAX_UNPACKED_BYTES} in all)"
        ))
    };
    // The declared size refuses an honest large file at once; the `take` bounds a lying one.
    if entry.size() > limit {
        return Err(too_large());
    }
    let mut text = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut text)
        .map_err(|_| not_an_export(format!("{name} is damaged in the archive")))?;
    if text.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(Some(text))
}

/// The file's text without the byte-order mark Letterboxd (and spreadsheets) may put first.
fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    // No header handling of the crate's: the header is read as a row, to tell the files apart;
    // `flexible`, because a short row is one with empty trailing fields, not a broken file.
    csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(without_bom(bytes))
}

/// The first row's fields, trimmed.
fn header_of(bytes: &[u8]) -> Result<Vec<String>, ExportError> {
    let mut record = csv::StringRecord::new();
    match reader(bytes).read_record(&mut record) {
        Ok(true) => Ok(record.iter().map(|field| field.trim().to_owned()).collect()),
        Ok(false) => Err(not_an_export("The file is empty")),
        Err(_) => Err(not_an_export("The file's header row is not UTF-8 CSV")),
    }
}

/// Counts lines up to where a record starts, moving forward only (records come in order). The
/// `csv` crate's own line count, and the offset it gives, may stop short of a CRLF line end
/// before the record; a record never starts with a line end, so those are stepped over.
struct Lines<'t> {
    text: &'t [u8],
    offset: usize,
    line: u64,
}

impl Lines<'_> {
    fn at(&mut self, offset: u64) -> u64 {
        let mut offset = usize::try_from(offset).unwrap_or(usize::MAX).min(self.text.len()).max(self.offset);
        while matches!(self.text.get(offset), Some(b'\r' | b'\n')) {
            offset += 1;
        }
        self.line += self.text[self.offset..offset].iter().filter(|&&b| b == b'\n').count() as u64;
        self.offset = offset;
        self.line
    }
}

/// Every row after the header. A row that is not UTF-8 (or not CSV) refuses the whole file: it
/// is not Letterboxd's, and half an import would be worse than none.
fn rows_of(bytes: &[u8], file: LetterboxdFile) -> Result<Vec<Row>, ExportError> {
    let text = without_bom(bytes);
    let mut lines = Lines { text, offset: 0, line: 1 };
    let mut reader = reader(bytes);
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut header = true;
    loop {
        let start = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) if header => header = false,
            Ok(true) if record.iter().all(|field| field.trim().is_empty()) => {}
            Ok(true) => {
                let field = |i: usize| record.get(i).unwrap_or_default().to_owned();
                let line = lines.at(record.position().map_or(start, |p| p.byte()));
                let rated = matches!(file, LetterboxdFile::Ratings | LetterboxdFile::Diary);
                rows.push(Row {
                    file,
                    line,
                    name: field(1),
                    year: field(2),
                    rating: if rated { field(4) } else { String::new() },
                    watched_date: if file == LetterboxdFile::Diary { field(7) } else { String::new() },
                });
            }
            Err(error) => {
                let at = lines.at(error.position().map_or(start, |p| p.byte()));
                return Err(not_an_export(format!("{} line {at} is not UTF-8 CSV", file.file_name())));
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_csv_is_told_apart_by_its_header_and_watch_files_by_their_name() {
        let ratings = b"\xEF\xBB\xBFDate,Name,Year,Letterboxd URI,Rating\r\n2024-01-02,\"Crouching Tiger, Hidden Dragon\",2000,https://boxd.it/x,4.5\r\n";
        let rows = read_csv(ratings, None).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].file, LetterboxdFile::Ratings);
        assert_eq!(rows[0].name, "Crouching Tiger, Hidden Dragon");
        assert_eq!((rows[0].line, rows[0].rating.as_str()), (2, "4.5"));

        let watched = b"Date,Name,Year,Letterboxd URI\n2024-01-02,\"The \"\"Best\"\" Film\",,u\n";
        assert!(matches!(read_csv(watched, None), Err(ExportError::NotAnExport(_))));
        let rows = read_csv(watched, Some(LetterboxdFile::Watched)).unwrap();
        assert_eq!((rows[0].name.as_str(), rows[0].year.as_str()), ("The \"Best\" Film", ""));
        assert!(read_csv(watched, Some(LetterboxdFile::Diary)).is_err());
        assert!(read_csv(b"id,title\n1,Heat\n", None).is_err());
        assert!(read_csv(b"", None).is_err());
    }

    #[test]
    fn a_row_that_spans_lines_is_numbered_by_the_line_it_starts_on() {
        let csv = b"Date,Name,Year,Letterboxd URI\n2024-01-02,\"Two\nLines\",2001,u\n2024-01-03,After,2002,u\n";
        let rows = read_csv(csv, Some(LetterboxdFile::Watchlist)).unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
        let crlf = b"\xEF\xBB\xBFDate,Name,Year,Letterboxd URI\r\n\r\n2024-01-02,\"Two\r\nLines\",2001,u\r\n2024-01-03,After,2002,u\r\n";
        let rows = read_csv(crlf, Some(LetterboxdFile::Watchlist)).unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [3, 5]);
    }

    #[test]
    fn bytes_that_are_not_utf8_refuse_the_file() {
        let csv = b"Date,Name,Year,Letterboxd URI\n2024-01-02,\xFF\xFE,2001,u\n";
        assert!(matches!(read_csv(csv, Some(LetterboxdFile::Watched)), Err(ExportError::NotAnExport(_))));
    }

    #[test]
    fn something_that_is_not_a_zip_is_not_an_export() {
        assert!(matches!(read_zip(b"PK\x03\x04 not really"), Err(ExportError::NotAnExport(_))));
    }
}
