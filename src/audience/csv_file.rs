//! CSV files as a [`RecipientSource`]: read as streams (never whole in memory), with their
//! header, delimiter and byte-order mark handled the way spreadsheets write them.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::{AudienceError, BadRow, RawRow, RecipientSource};

/// The header row of a CSV file and the delimiter it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsvHeader {
    pub columns: Vec<String>,
    pub delimiter: u8,
}

impl CsvHeader {
    pub(crate) fn has(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Picks `,`, `;` or tab: whichever appears most often outside quotes in the header line.
pub(super) fn sniff_delimiter(first_line: &[u8]) -> u8 {
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
pub(super) fn open_csv(
    path: &Path,
) -> Result<(CsvHeader, csv::Reader<Box<dyn Read + Send>>), AudienceError> {
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
        .from_reader(Box::new(reader) as Box<dyn Read + Send>);
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
pub(crate) fn read_header(path: &Path) -> Result<CsvHeader, AudienceError> {
    open_csv(path).map(|(header, _)| header)
}

/// A CSV file's rows: field counts and encodings checked, the UserID column picked out.
pub(crate) struct CsvSource {
    path: PathBuf,
    header: CsvHeader,
    reader: csv::Reader<Box<dyn Read + Send>>,
    user_id_index: usize,
    row: u64,
    record: csv::ByteRecord,
}

impl std::fmt::Debug for CsvSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvSource")
            .field("path", &self.path)
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

impl CsvSource {
    pub(crate) fn open(path: &Path, user_id_column: &str) -> Result<Self, AudienceError> {
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
        Ok(CsvSource {
            path: path.to_owned(),
            header,
            reader,
            user_id_index,
            row: 1,
            record: csv::ByteRecord::new(),
        })
    }

    fn raw(&self) -> RawRow {
        let row = self.row;
        let bad = |reason: String| RawRow::Bad(BadRow { row, reason });
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
        let user_id = record
            .get(self.user_id_index)
            .unwrap_or_default()
            .to_owned();
        RawRow::Row {
            row,
            user_id,
            record,
        }
    }
}

/// Line ends a quoted field may hold before it is taken for a quote that was never closed.
const MAX_FIELD_LINES: u64 = 20;

impl CsvSource {
    /// A quoted field that runs over many lines (or to the end of the file) is a quote left
    /// open: it swallows every row after it, so no row policy may skip it.
    fn unclosed_quote(&self, record_start_line: u64) -> Option<AudienceError> {
        let spanned = self
            .reader
            .position()
            .line()
            .saturating_sub(record_start_line);
        let at_end = self.reader.is_done();
        let has_line_end = self.record.iter().any(|f| f.contains(&b'\n'));
        if !has_line_end || (spanned <= MAX_FIELD_LINES && !(at_end && spanned > 1)) {
            return None;
        }
        Some(AudienceError::Row {
            path: self.path.clone(),
            row: self.row,
            message: format!(
                "a quoted field opens here and runs over {spanned} lines{}: close the quote \
                 (`\"`) in this row, or quote the field's own quotes as `\"\"`",
                if at_end {
                    " to the end of the file"
                } else {
                    ""
                }
            ),
        })
    }
}

impl RecipientSource for CsvSource {
    fn columns(&self) -> &[String] {
        &self.header.columns
    }

    fn next_raw(&mut self) -> Option<Result<RawRow, AudienceError>> {
        let start_line = self.reader.position().line();
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                self.row += 1;
                if let Some(error) = self.unclosed_quote(start_line) {
                    return Some(Err(error));
                }
                Some(Ok(self.raw()))
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
                    _ => Some(Ok(RawRow::Bad(BadRow {
                        row,
                        reason: err.to_string(),
                    }))),
                }
            }
        }
    }
}

/// Lines of a file (a last line without a newline counts); `None` when it cannot be read.
pub(crate) fn count_lines(path: &std::path::Path) -> Option<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[n - 1];
    }
    Some(lines + u64::from(last != b'\n'))
}
