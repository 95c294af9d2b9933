//! The journal: per campaign and recipient, what was sent.
//!
//! An intent is committed before its call goes out and its outcome after, so a process that
//! dies leaves intents without outcomes: *uncertain* sends that a resumed run can recognise.
//! `plan` reads it to diff the campaign against what was already sent; `apply` writes it.
//! [`JournalStore`] is the seam: SQLite ([`SqliteJournal`]) is the embedded default, and a
//! [`State`] names which store a command uses.

mod sqlite;

use std::path::{Path, PathBuf};

use crate::im::{Endpoint, ErrorClass};
use crate::project::Project;

pub use sqlite::SqliteJournal;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i32 = 1;

/// [`JournalStore::fingerprint`] of a campaign with no records.
pub const EMPTY_FINGERPRINT: &str = "0-0-0-0";

/// Default location of the journal, under the working directory.
pub const DEFAULT_PATH: &str = ".timcast/state.db";

/// Problems with the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot open the journal {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the journal's directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the journal {path} has schema version {found}, newer than this timcast knows ({SCHEMA_VERSION}): upgrade timcast"
    )]
    TooNew { path: PathBuf, found: i32 },
    #[error("the journal {path} holds an unknown {what} `{value}`")]
    BadValue {
        path: PathBuf,
        what: &'static str,
        value: String,
    },
    #[error("journal {path}: {source}")]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "campaign `{campaign}` is being applied by another process (lock {path}); wait for it to finish"
    )]
    Locked { campaign: String, path: PathBuf },
    #[error("cannot take the lock {path}: {source}")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where a send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SendState {
    /// Committed before the call; no outcome yet (uncertain after a crash).
    Intent,
    /// The server accepted it.
    Sent,
    /// The server refused it (or retries ran out).
    Failed,
    /// The call may or may not have taken effect.
    Uncertain,
    /// Sent, then withdrawn by `timcast recall`.
    Recalled,
}

impl SendState {
    pub fn as_str(self) -> &'static str {
        match self {
            SendState::Intent => "intent",
            SendState::Sent => "sent",
            SendState::Failed => "failed",
            SendState::Uncertain => "uncertain",
            SendState::Recalled => "recalled",
        }
    }

    /// How reports and summaries name the state: an intent without an outcome is a send
    /// "in flight" (the journal's own word stays `intent`).
    pub fn report_name(self) -> &'static str {
        match self {
            SendState::Intent => "in flight",
            other => other.as_str(),
        }
    }

    pub fn parse(text: &str) -> Option<SendState> {
        Some(match text {
            "intent" => SendState::Intent,
            "sent" => SendState::Sent,
            "failed" => SendState::Failed,
            "uncertain" => SendState::Uncertain,
            "recalled" => SendState::Recalled,
            _ => return None,
        })
    }
}

/// One recipient's latest state in one campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRecord {
    pub campaign: String,
    pub recipient: String,
    pub content_hash: String,
    pub state: SendState,
    /// The API call that carries it.
    pub endpoint: Endpoint,
    /// The call that carried it: equal for every recipient of one batch.
    pub call_id: String,
    pub msg_random: u32,
    pub msg_seq: u32,
    pub msg_key: Option<String>,
    pub msg_time: Option<i64>,
    pub error_code: Option<i64>,
    pub error_text: Option<String>,
    pub error_class: Option<ErrorClass>,
    pub attempts: u32,
    pub intent_at_ms: i64,
    pub updated_at_ms: i64,
}

impl SendRecord {
    /// An intent: committed before the call, with no outcome yet.
    pub fn intent(
        campaign: &str,
        recipient: &str,
        content_hash: String,
        endpoint: Endpoint,
        call_id: &str,
        (msg_random, msg_seq): (u32, u32),
        at_ms: i64,
    ) -> SendRecord {
        SendRecord {
            campaign: campaign.to_owned(),
            recipient: recipient.to_owned(),
            content_hash,
            state: SendState::Intent,
            endpoint,
            call_id: call_id.to_owned(),
            msg_random,
            msg_seq,
            msg_key: None,
            msg_time: None,
            error_code: None,
            error_text: None,
            error_class: None,
            attempts: 0,
            intent_at_ms: at_ms,
            updated_at_ms: at_ms,
        }
    }
}

/// Held while a campaign is being applied; dropping it releases the campaign.
#[derive(Debug)]
pub struct CampaignLock {
    _guard: Box<dyn std::fmt::Debug + Send>,
}

impl CampaignLock {
    pub(crate) fn new(guard: impl std::fmt::Debug + Send + 'static) -> CampaignLock {
        CampaignLock {
            _guard: Box::new(guard),
        }
    }
}

/// A send to one recipient from any campaign: (campaign, content hash, intent time in ms).
pub type RecentSend = (String, String, i64);

/// What every journal store does. Writes come from one thread (the journal writer); reads
/// may come from another connection at the same time.
pub trait JournalStore: Send + std::fmt::Debug {
    /// Where the store is, for messages (a path; never a password).
    fn location(&self) -> String;

    /// Calls `each` for every record of `campaign`, streamed.
    fn for_each_record(
        &self,
        campaign: &str,
        each: &mut dyn FnMut(SendRecord),
    ) -> Result<(), JournalError>;

    /// The records of `recipients` in `campaign`: `each(index, record)` for those the journal has, in any order.
    ///
    /// The planner and the reports join an audience to the journal with it, a batch at a time,
    /// so neither side is held in memory (a store over a network answers a batch in one round
    /// trip). A recipient named twice in a batch is answered at each of its indexes.
    fn records_of(
        &self,
        campaign: &str,
        recipients: &[&str],
        each: &mut dyn FnMut(usize, SendRecord),
    ) -> Result<(), JournalError>;

    /// The state of each of `recipients` in `campaign`: `each(index, state)` for those the
    /// journal has, in any order ([`JournalStore::records_of`], states only).
    fn states_of(
        &self,
        campaign: &str,
        recipients: &[&str],
        each: &mut dyn FnMut(usize, SendState),
    ) -> Result<(), JournalError> {
        self.records_of(campaign, recipients, &mut |i, record| each(i, record.state))
    }

    /// How many records `campaign` has: the planner compares it with the records it found in
    /// the audience, and looks for recipients gone from the audience only when they differ.
    /// The default counts a full scan; a store answers it from an index.
    fn count(&self, campaign: &str) -> Result<u64, JournalError> {
        let mut n = 0;
        self.for_each_record(campaign, &mut |_| n += 1)?;
        Ok(n)
    }

    /// Calls `each` for every record of `campaign` in one of `states`, streamed in the order
    /// of [`JournalStore::for_each_record`]: the few uncertain sends of a journal of millions
    /// are read without reading the rest. The default filters a full scan; a store filters in
    /// its query.
    fn for_each_record_in(
        &self,
        campaign: &str,
        states: &[SendState],
        each: &mut dyn FnMut(SendRecord),
    ) -> Result<(), JournalError> {
        self.for_each_record(campaign, &mut |record| {
            if states.contains(&record.state) {
                each(record);
            }
        })
    }

    /// Writes records (intents or outcomes) in one transaction: the latest state per recipient.
    fn upsert(&mut self, records: &[SendRecord]) -> Result<(), JournalError>;

    /// A short fingerprint of a campaign's records: any write changes it; none gives
    /// [`EMPTY_FINGERPRINT`].
    fn fingerprint(&self, campaign: &str) -> Result<String, JournalError>;

    /// Sends to `recipient` from any campaign that went out (or may have: in flight,
    /// uncertain) since `since_ms`, oldest first. Official accounts' limits count these.
    fn sent_to_since(
        &self,
        recipient: &str,
        since_ms: i64,
    ) -> Result<Vec<RecentSend>, JournalError>;

    /// Whether a saved plan was already applied (a plan can be applied once).
    fn plan_applied(&self, plan_id: &str) -> Result<bool, JournalError>;

    /// Records that a saved plan was applied.
    fn mark_plan_applied(
        &self,
        plan_id: &str,
        campaign: &str,
        at_ms: i64,
    ) -> Result<(), JournalError>;

    /// Takes the campaign's lock: two applies of one campaign cannot run at once, and a
    /// process that dies releases it.
    fn lock(&self, campaign: &str) -> Result<CampaignLock, JournalError>;

    /// Every record of `campaign`.
    fn records(&self, campaign: &str) -> Result<Vec<SendRecord>, JournalError> {
        let mut all = Vec::new();
        self.for_each_record(campaign, &mut |r| all.push(r))?;
        Ok(all)
    }
}

/// Which journal store a command uses: `--state`, `TIMCAST_STATE`, or the default.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct State {
    path: PathBuf,
}

impl State {
    /// A SQLite journal at `path`.
    pub fn sqlite(path: impl Into<PathBuf>) -> State {
        State { path: path.into() }
    }

    /// `--state` as given, else [`DEFAULT_PATH`] at the root of `project`.
    pub fn for_project(arg: Option<&Path>, project: &Project) -> State {
        State::sqlite(arg.map_or_else(|| project.root.join(DEFAULT_PATH), Path::to_owned))
    }

    /// `--state` as given, else the default journal of the campaign file's project.
    pub fn for_campaign(arg: Option<&Path>, campaign: &Path) -> State {
        match arg {
            Some(path) => State::sqlite(path),
            None => State::for_project(None, &Project::of_campaign(campaign)),
        }
    }

    /// The journal of this name under `./.timcast/`, where timcast kept it before the default
    /// moved to the project root; `None` when it is this one or there is none.
    pub fn former_default(&self) -> Option<State> {
        let name = self.path.file_name()?;
        let former = std::env::current_dir().ok()?.join(".timcast").join(name);
        let same = match (
            std::fs::canonicalize(&former),
            std::fs::canonicalize(&self.path),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => former == self.path,
        };
        (!same && former.is_file()).then(|| State::sqlite(former))
    }

    /// The journal `apply --sandbox` keeps: `sandbox.db` beside the real one, so demo sends
    /// never mix with real ones.
    pub fn sandbox(&self) -> State {
        State::sqlite(self.path.with_file_name("sandbox.db"))
    }

    /// The file, for messages and saved plans.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the store for writing, creating and migrating it if needed.
    pub fn open(&self) -> Result<Box<dyn JournalStore>, JournalError> {
        Ok(Box::new(SqliteJournal::open(&self.path)?))
    }

    /// Opens the store for reading; `None` when nothing was ever written to it.
    pub fn open_existing(&self) -> Result<Option<Box<dyn JournalStore>>, JournalError> {
        Ok(SqliteJournal::open_existing(&self.path)?.map(|j| Box::new(j) as Box<dyn JournalStore>))
    }

    /// The fingerprint of `campaign` in this store; an absent store is
    /// [`EMPTY_FINGERPRINT`] too.
    pub fn fingerprint(&self, campaign: &str) -> Result<String, JournalError> {
        match self.open_existing()? {
            None => Ok(EMPTY_FINGERPRINT.to_owned()),
            Some(journal) => journal.fingerprint(campaign),
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.display())
    }
}

/// A record for tests: campaign `c`, content `h`, sent through sendmsg.
#[cfg(test)]
pub(crate) fn test_record(recipient: &str, state: SendState) -> SendRecord {
    let mut record = SendRecord::intent(
        "c",
        recipient,
        "h".into(),
        Endpoint::SendMsg,
        &format!("call-{recipient}"),
        (7, 8),
        1,
    );
    record.state = state;
    record
}
