//! Recipients: CSV files read as streams (never whole in memory), with their header, delimiter
//! and byte-order mark handled the way spreadsheets write them.

use std::collections::HashSet;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Problems reading an audience file.
#[derive(Debug, thiserror::Error)]
pub enum AudienceError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is empty: it needs a header row naming its columns")]
    Empty { path: PathBuf },
    #[error("{path}, row {row}: {message}")]
    Row {
        path: PathBuf,
        row: u64,
        message: String,
    },
}

/// The header row of a CSV file and the delimiter it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvHeader {
    pub columns: Vec<String>,
    pub delimiter: u8,
}

impl CsvHeader {
    pub fn has(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Picks `,`, `;` or tab: whichever appears most often outside quotes in the header line.
pub fn sniff_delimiter(first_line: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &byte in first_line {
        match byte {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    candidates[best]
}

/// Opens a CSV file as a streaming reader: BOM skipped, delimiter sniffed, header row read.
pub fn open_csv(path: &Path) -> Result<(CsvHeader, csv::Reader<Box<dyn Read>>), AudienceError> {
    let io = |source| AudienceError::Io {
        path: path.to_owned(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let buffer = reader.fill_buf().map_err(io)?;
    if buffer.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    let buffer = reader.fill_buf().map_err(io)?;
    if buffer.is_empty() {
        return Err(AudienceError::Empty {
            path: path.to_owned(),
        });
    }
    let line_end = buffer
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(buffer.len());
    let delimiter = sniff_delimiter(&buffer[..line_end]);
    let mut csv_reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(Box::new(reader) as Box<dyn Read>);
    let header = csv_reader.byte_headers().map_err(|e| AudienceError::Row {
        path: path.to_owned(),
        row: 1,
        message: e.to_string(),
    })?;
    let mut columns = Vec::with_capacity(header.len());
    for field in header {
        let name = std::str::from_utf8(field).map_err(|_| AudienceError::Row {
            path: path.to_owned(),
            row: 1,
            message: "the header is not valid UTF-8: save the file as UTF-8".to_owned(),
        })?;
        columns.push(name.trim().to_owned());
    }
    if columns.iter().all(String::is_empty) {
        return Err(AudienceError::Empty {
            path: path.to_owned(),
        });
    }
    Ok((CsvHeader { columns, delimiter }, csv_reader))
}

/// Reads only the header row of a CSV file.
pub fn read_header(path: &Path) -> Result<CsvHeader, AudienceError> {
    open_csv(path).map(|(header, _)| header)
}

/// The longest UserID the API takes, in bytes.
pub const MAX_USER_ID_BYTES: usize = 32;

/// One recipient read from the CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRow {
    /// Row number as a spreadsheet shows it: the header is row 1.
    pub row: u64,
    pub user_id: String,
    /// [`fingerprint`] of the user ID.
    pub print: u128,
    pub record: csv::StringRecord,
}

/// A row that cannot become a recipient, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub row: u64,
    pub reason: String,
}

/// What one CSV row turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Recipient(RecipientRow),
    Bad(BadRow),
    /// On a suppression list.
    Excluded {
        row: u64,
        user_id: String,
    },
    /// Already seen in an earlier row: sent once.
    Duplicate {
        row: u64,
        user_id: String,
    },
}

/// A CSV audience read row by row, with suppression lists and duplicates applied.
///
/// Memory holds the suppression lists and one 128-bit fingerprint per distinct recipient,
/// never the rows themselves.
pub struct CsvAudience {
    path: PathBuf,
    header: CsvHeader,
    reader: csv::Reader<Box<dyn Read>>,
    user_id_index: usize,
    excluded: PrintSet,
    seen: PrintSet,
    row: u64,
    record: csv::ByteRecord,
}

impl std::fmt::Debug for CsvAudience {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvAudience")
            .field("path", &self.path)
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

/// A set of fingerprints. They are hashes already, so the set uses their low bits as they are
/// instead of hashing them again.
pub type PrintSet = HashSet<u128, std::hash::BuildHasherDefault<PrintHasher>>;

/// A map keyed by fingerprints (see [`PrintSet`]).
pub type PrintMap<V> =
    std::collections::HashMap<u128, V, std::hash::BuildHasherDefault<PrintHasher>>;

/// The hasher of [`PrintSet`]: a fingerprint's low 64 bits.
#[derive(Debug, Default, Clone, Copy)]
pub struct PrintHasher(u64);

impl Hasher for PrintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u128 keys are expected; anything else still hashes, just slowly.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

/// A fingerprint of a user ID for duplicate and suppression checks (two independent SipHashes).
pub fn fingerprint(user_id: &str) -> u128 {
    let half = |salt: u8| {
        let mut hasher = std::hash::DefaultHasher::new();
        salt.hash(&mut hasher);
        user_id.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

impl CsvAudience {
    /// Opens `path` and reads the suppression lists (same user ID column) into memory.
    pub fn open(
        path: &Path,
        user_id_column: &str,
        exclude: &[PathBuf],
    ) -> Result<Self, AudienceError> {
        let (header, reader) = open_csv(path)?;
        let user_id_index = header
            .columns
            .iter()
            .position(|c| c == user_id_column)
            .ok_or_else(|| AudienceError::Row {
                path: path.to_owned(),
                row: 1,
                message: format!(
                    "no column `{user_id_column}`; the columns are: {}",
                    header.columns.join(", ")
                ),
            })?;
        let mut excluded = PrintSet::default();
        for list in exclude {
            let mut suppression = CsvAudience::open(list, user_id_column, &[])?;
            // Reading a row records its user in `seen`; bad rows name nobody to suppress.
            while let Some(outcome) = suppression.next_row() {
                outcome?;
            }
            excluded.extend(suppression.seen.drain());
        }
        Ok(CsvAudience {
            path: path.to_owned(),
            header,
            reader,
            user_id_index,
            excluded,
            seen: PrintSet::default(),
            row: 1,
            record: csv::ByteRecord::new(),
        })
    }

    pub fn header(&self) -> &CsvHeader {
        &self.header
    }

    /// Whether a recipient with this fingerprint was read (see [`fingerprint`]).
    pub fn has_seen(&self, print: u128) -> bool {
        self.seen.contains(&print)
    }

    /// How many distinct recipients the suppression lists hold.
    pub fn excluded_count(&self) -> usize {
        self.excluded.len()
    }

    /// The next row, or `None` at the end; an error when the file cannot be read at all.
    pub fn next_row(&mut self) -> Option<Result<RowOutcome, AudienceError>> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                self.row += 1;
                Some(Ok(self.classify()))
            }
            Err(err) => {
                self.row += 1;
                let row = self.row;
                match err.kind() {
                    csv::ErrorKind::Io(_) => Some(Err(AudienceError::Row {
                        path: self.path.clone(),
                        row,
                        message: err.to_string(),
                    })),
                    _ => Some(Ok(RowOutcome::Bad(BadRow {
                        row,
                        reason: err.to_string(),
                    }))),
                }
            }
        }
    }

    fn classify(&mut self) -> RowOutcome {
        let row = self.row;
        let bad = |reason: String| RowOutcome::Bad(BadRow { row, reason });
        if self.record.len() != self.header.columns.len() {
            return bad(format!(
                "has {} fields, the header has {}",
                self.record.len(),
                self.header.columns.len()
            ));
        }
        let record = match csv::StringRecord::from_byte_record(self.record.clone()) {
            Ok(record) => record,
            Err(err) => {
                let field = err.utf8_error().field() + 1;
                return bad(format!(
                    "field {field} is not valid UTF-8 (save the file as UTF-8)"
                ));
            }
        };
        let user_id = record.get(self.user_id_index).unwrap_or_default().trim();
        if user_id.is_empty() {
            return bad("the user ID is empty".to_owned());
        }
        if user_id.len() > MAX_USER_ID_BYTES {
            return bad(format!(
                "the user ID is {} bytes long; UserIDs are at most {MAX_USER_ID_BYTES}",
                user_id.len()
            ));
        }
        let user_id = user_id.to_owned();
        let print = fingerprint(&user_id);
        if self.excluded.contains(&print) {
            return RowOutcome::Excluded { row, user_id };
        }
        if !self.seen.insert(print) {
            return RowOutcome::Duplicate { row, user_id };
        }
        RowOutcome::Recipient(RecipientRow {
            row,
            user_id,
            print,
            record,
        })
    }
}

impl Iterator for CsvAudience {
    type Item = Result<RowOutcome, AudienceError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn csv_file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn header_with_bom_and_semicolons() {
        let f = csv_file(b"\xEF\xBB\xBFuser_id;first_name;\"city, country\"\nu1;Ada;x\n");
        let header = read_header(f.path()).unwrap();
        assert_eq!(header.delimiter, b';');
        assert_eq!(header.columns, ["user_id", "first_name", "city, country"]);
    }

    #[test]
    fn tabs_and_quoted_commas() {
        assert_eq!(sniff_delimiter(b"a\tb\t\"c,d,e\""), b'\t');
        assert_eq!(sniff_delimiter(b"a,b"), b',');
    }

    #[test]
    fn rows_are_classified_with_their_row_numbers() {
        let audience_file = csv_file(
            b"user_id,name\nu1,Ada\nu2,Bob\nu1,Again\n,Nobody\nu3\nu4,Suppressed\nu5,\xff\n",
        );
        let exclude = csv_file(b"user_id\nu4\n");
        let audience = CsvAudience::open(
            audience_file.path(),
            "user_id",
            &[exclude.path().to_owned()],
        )
        .unwrap();
        let outcomes: Vec<RowOutcome> = audience.map(Result::unwrap).collect();
        let summary: Vec<String> = outcomes
            .iter()
            .map(|o| match o {
                RowOutcome::Recipient(r) => format!("{} send {}", r.row, r.user_id),
                RowOutcome::Bad(b) => format!("{} bad {}", b.row, b.reason),
                RowOutcome::Excluded { row, user_id } => format!("{row} excluded {user_id}"),
                RowOutcome::Duplicate { row, user_id } => format!("{row} duplicate {user_id}"),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "2 send u1",
                "3 send u2",
                "4 duplicate u1",
                "5 bad the user ID is empty",
                "6 bad has 1 fields, the header has 2",
                "7 excluded u4",
                "8 bad field 2 is not valid UTF-8 (save the file as UTF-8)",
            ]
        );
    }

    #[test]
    fn empty_file_is_an_error() {
        let f = csv_file(b"");
        assert!(matches!(
            read_header(f.path()),
            Err(AudienceError::Empty { .. })
        ));
    }
}
