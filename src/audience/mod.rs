//! Recipients: where they come from ([`RecipientSource`]: a CSV file, an official account)
//! and what every source gets on top, once ([`Recipients`]): UserID checks, suppression lists
//! and duplicates. Rows stream through; memory holds one fingerprint per distinct recipient.

mod csv_file;

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::campaign::LoadedCampaign;

pub(crate) use csv_file::{CsvHeader, CsvSource, count_lines, read_header};

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
    #[error("{0}")]
    Path(String),
    #[error("{path}, row {row}: {message}")]
    Row {
        path: PathBuf,
        row: u64,
        message: String,
    },
}

/// The longest UserID the API takes, in bytes.
pub(crate) const MAX_USER_ID_BYTES: usize = 32;

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
pub(crate) struct BadRow {
    pub row: u64,
    pub reason: String,
}

/// What one CSV row turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RowOutcome {
    Recipient(RecipientRow),
    Bad(BadRow),
    /// On a suppression list.
    Excluded {
        row: u64,
        user_id: String,
        by: ExcludedBy,
    },
    /// Already seen in an earlier row: sent once.
    Duplicate {
        row: u64,
        user_id: String,
    },
}

/// Which suppression list took a recipient off. A recipient on both counts once, as the
/// campaign's: its own list is the narrower statement about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExcludedBy {
    /// The campaign's `audience.exclude`.
    Campaign,
    /// The project's `suppress` in timcast.toml.
    Project,
}

/// A row as a source gives it, before the checks every source shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawRow {
    Row {
        row: u64,
        user_id: String,
        record: csv::StringRecord,
    },
    Bad(BadRow),
}

/// Where recipients come from.
pub(crate) trait RecipientSource: Send {
    /// The columns a template may use.
    fn columns(&self) -> &[String];
    /// The next row; `None` at the end; an error when the source cannot be read at all.
    fn next_raw(&mut self) -> Option<Result<RawRow, AudienceError>>;
}

/// An official account: one recipient, the account, which reaches every subscriber.
#[derive(Debug)]
pub(crate) struct OfficialAccountSource {
    account: Option<String>,
}

impl OfficialAccountSource {
    pub(crate) fn new(account: &str) -> Self {
        OfficialAccountSource {
            account: Some(account.to_owned()),
        }
    }
}

impl RecipientSource for OfficialAccountSource {
    fn columns(&self) -> &[String] {
        &[]
    }

    fn next_raw(&mut self) -> Option<Result<RawRow, AudienceError>> {
        let user_id = self.account.take()?;
        Some(Ok(RawRow::Row {
            row: 0,
            user_id,
            record: csv::StringRecord::new(),
        }))
    }
}

/// Any source's rows with the checks every audience needs: a usable UserID, not on a
/// suppression list, not seen before.
pub(crate) struct Recipients {
    source: Box<dyn RecipientSource>,
    excluded: PrintSet,
    /// On the project's lists (timcast.toml `suppress`), counted apart from `excluded`.
    suppressed: PrintSet,
    seen: PrintSet,
    /// The index and name of the column with each recipient's time zone, which must be one.
    zone_column: Option<(usize, String)>,
    /// What [`Recipients::bad_zone`] said of each value: audiences repeat a few zones, and a
    /// suggestion compares a bad one with every name in the database.
    zone_verdicts: std::collections::HashMap<String, Option<String>>,
}

impl std::fmt::Debug for Recipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recipients")
            .field("seen", &self.seen.len())
            .field("excluded", &self.excluded.len())
            .field("suppressed", &self.suppressed.len())
            .finish_non_exhaustive()
    }
}

impl Recipients {
    pub(crate) fn new(source: Box<dyn RecipientSource>) -> Self {
        Recipients {
            source,
            excluded: PrintSet::default(),
            suppressed: PrintSet::default(),
            seen: PrintSet::default(),
            zone_column: None,
            zone_verdicts: std::collections::HashMap::new(),
        }
    }

    /// A CSV file with its suppression lists (the same UserID column): the campaign's own
    /// (`exclude`) and the project's (`suppress`), counted apart.
    pub(crate) fn csv(
        path: &Path,
        user_id_column: &str,
        exclude: &[PathBuf],
        suppress: &[PathBuf],
    ) -> Result<Self, AudienceError> {
        let mut recipients = Recipients::new(Box::new(CsvSource::open(path, user_id_column)?));
        for list in exclude {
            recipients.excluded.extend(users_of(list, user_id_column)?);
        }
        for list in suppress {
            recipients
                .suppressed
                .extend(users_of(list, user_id_column)?);
        }
        Ok(recipients)
    }

    /// The campaign's audience, whichever source it names; `with_exclusions: false` reads the
    /// CSV without its suppression lists (to find a recipient by ID).
    pub(crate) fn of_campaign(
        loaded: &LoadedCampaign,
        with_exclusions: bool,
    ) -> Result<Self, AudienceError> {
        let audience = &loaded.campaign.audience;
        if let Some(account) = &audience.official_account {
            return Ok(Recipients::new(Box::new(OfficialAccountSource::new(
                account,
            ))));
        }
        let Some(csv) = &audience.csv else {
            return Err(AudienceError::Path("the campaign has no audience".into()));
        };
        let resolve = |key: &str, file: &str| {
            loaded
                .resolve(file)
                .map_err(|p| AudienceError::Path(format!("audience.{key} `{file}`: {p:?}")))
        };
        let path = resolve("csv", csv)?;
        let mut exclude = Vec::new();
        let mut suppress = Vec::new();
        if with_exclusions {
            for list in &audience.exclude {
                exclude.push(resolve("exclude", list)?);
            }
            for (list, _) in loaded.project_suppression() {
                suppress.push(loaded.resolve_suppress(list).map_err(|p| {
                    AudienceError::Path(format!("timcast.toml suppress `{list}`: {p:?}"))
                })?);
            }
        }
        let mut recipients = Recipients::csv(&path, &audience.user_id_column, &exclude, &suppress)?;
        let zone_column = loaded
            .campaign
            .schedule
            .as_ref()
            .and_then(|s| s.window.as_ref())
            .and_then(|w| w.recipient_timezone_column.as_ref());
        if let Some(column) = zone_column {
            recipients.zone_column = recipients
                .columns()
                .iter()
                .position(|c| c == column)
                .map(|index| (index, column.clone()));
        }
        Ok(recipients)
    }

    pub(crate) fn columns(&self) -> &[String] {
        self.source.columns()
    }

    /// Whether a recipient with this fingerprint was read (see [`fingerprint`]).
    pub(crate) fn has_seen(&self, print: u128) -> bool {
        self.seen.contains(&print)
    }

    /// The next row, or `None` at the end; an error when the source cannot be read at all.
    pub(crate) fn next_row(&mut self) -> Option<Result<RowOutcome, AudienceError>> {
        Some(self.source.next_raw()?.map(|raw| self.classify(raw)))
    }

    fn classify(&mut self, raw: RawRow) -> RowOutcome {
        let (row, user_id, record) = match raw {
            RawRow::Bad(bad) => return RowOutcome::Bad(bad),
            RawRow::Row {
                row,
                user_id,
                record,
            } => (row, user_id, record),
        };
        let bad = |reason: String| RowOutcome::Bad(BadRow { row, reason });
        let user_id = user_id.trim();
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
        // The campaign's own list first: on both, a recipient counts as the campaign's.
        if self.excluded.contains(&print) {
            return RowOutcome::Excluded {
                row,
                user_id,
                by: ExcludedBy::Campaign,
            };
        }
        if self.suppressed.contains(&print) {
            return RowOutcome::Excluded {
                row,
                user_id,
                by: ExcludedBy::Project,
            };
        }
        if !self.seen.insert(print) {
            return RowOutcome::Duplicate { row, user_id };
        }
        // Checked once the recipient counts as seen, so that a plan does not also list them as
        // removed from the audience.
        if let Some(why) = self.bad_zone(&record) {
            return bad(why);
        }
        RowOutcome::Recipient(RecipientRow {
            row,
            user_id,
            print,
            record,
        })
    }

    /// Why the recipient's time zone is unusable; an empty one means the window's own.
    fn bad_zone(&mut self, record: &csv::StringRecord) -> Option<String> {
        const MAX_VERDICTS: usize = 10_000;
        let (index, column) = self.zone_column.as_ref()?;
        let value = record.get(*index).unwrap_or_default();
        if value.trim().is_empty() {
            return None;
        }
        if let Some(verdict) = self.zone_verdicts.get(value) {
            return verdict.clone();
        }
        let verdict = crate::zone::parse(value).err().map(|unknown| {
            let help = match &unknown.suggestion {
                Some(name) => format!("did you mean `{name}`?"),
                None => format!("use {}", crate::zone::ZONE_FORMS),
            };
            format!(
                "the time zone `{}` (column `{column}`) is not a known time zone; {help}",
                unknown.text
            )
        });
        if self.zone_verdicts.len() < MAX_VERDICTS {
            self.zone_verdicts.insert(value.to_owned(), verdict.clone());
        }
        verdict
    }
}

/// The distinct users of a suppression list; bad rows name nobody to suppress.
fn users_of(list: &Path, user_id_column: &str) -> Result<PrintSet, AudienceError> {
    let mut suppression = Recipients::csv(list, user_id_column, &[], &[])?;
    // Reading a row records its user in `seen`.
    while let Some(outcome) = suppression.next_row() {
        outcome?;
    }
    Ok(suppression.seen)
}

impl Iterator for Recipients {
    type Item = Result<RowOutcome, AudienceError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row()
    }
}

/// A set of fingerprints. They are hashes already, so the set uses their low bits as they are
/// instead of hashing them again.
pub(crate) type PrintSet = HashSet<u128, std::hash::BuildHasherDefault<PrintHasher>>;

/// The hasher of [`PrintSet`]: a fingerprint's low 64 bits.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PrintHasher(u64);

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
pub(crate) fn fingerprint(user_id: &str) -> u128 {
    let half = |salt: u8| {
        let mut hasher = std::hash::DefaultHasher::new();
        salt.hash(&mut hasher);
        user_id.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

#[cfg(test)]
mod tests {
    use super::csv_file::sniff_delimiter;
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
        let suppress = csv_file(b"user_id\nu2\nu4\n");
        let audience = Recipients::csv(
            audience_file.path(),
            "user_id",
            &[exclude.path().to_owned()],
            &[suppress.path().to_owned()],
        )
        .unwrap();
        let outcomes: Vec<RowOutcome> = audience.map(Result::unwrap).collect();
        let summary: Vec<String> = outcomes
            .iter()
            .map(|o| match o {
                RowOutcome::Recipient(r) => format!("{} send {}", r.row, r.user_id),
                RowOutcome::Bad(b) => format!("{} bad {}", b.row, b.reason),
                RowOutcome::Excluded { row, user_id, by } => {
                    format!("{row} excluded {user_id} by {by:?}")
                }
                RowOutcome::Duplicate { row, user_id } => format!("{row} duplicate {user_id}"),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "2 send u1",
                "3 excluded u2 by Project",
                "4 duplicate u1",
                "5 bad the user ID is empty",
                "6 bad has 1 fields, the header has 2",
                "7 excluded u4 by Campaign",
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
