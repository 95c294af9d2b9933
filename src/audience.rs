//! Recipients: CSV files read as streams (never whole in memory), with their header, delimiter
//! and byte-order mark handled the way spreadsheets write them.

use std::fs::File;
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
    fn empty_file_is_an_error() {
        let f = csv_file(b"");
        assert!(matches!(
            read_header(f.path()),
            Err(AudienceError::Empty { .. })
        ));
    }
}
