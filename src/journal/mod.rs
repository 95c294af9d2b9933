//! The journal: per campaign and recipient, what was sent.
//!
//! An intent is committed before its call goes out and its outcome after, so a process that
//! dies leaves intents without outcomes: *uncertain* sends that a resumed run can recognise.
//! `plan` reads it to diff the campaign against what was already sent; `apply` writes it.
//! [`JournalStore`] is the seam: SQLite ([`SqliteJournal`]) is the embedded default,
//! PostgreSQL ([`PgJournal`]) the one a team and its CI runners share, and a [`State`] names
//! which store a command uses.

mod batch;
mod chunks;
mod plan_records;
mod postgres;
mod sqlite;
mod state;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::im::{Endpoint, ErrorClass};

pub(crate) use batch::BatchOrder;
pub use plan_records::{PlanRecord, PlanRecords};
pub use postgres::{PgJournal, PgTarget};
pub use sqlite::SqliteJournal;
pub use state::State;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i32 = 5;

/// [`JournalStore::fingerprint`] of a campaign with no records.
pub const EMPTY_FINGERPRINT: &str = "0-0-0-0";

/// The columns of `sends` in both stores, in the order their readers decode them.
pub(crate) const COLUMNS: &str = "campaign, recipient, content_hash, state, endpoint, call_id, \
    msg_random, msg_seq, msg_key, msg_time, error_code, error_text, error_class, attempts, \
    intent_at_ms, updated_at_ms, variant, locale";

/// The columns a plan reads ([`JournalStore::plan_records_of`],
/// [`JournalStore::records_in_written_order`]), in the order their readers decode them.
pub(crate) const PLAN_COLUMNS: &str =
    "recipient, content_hash, state, endpoint, error_code, error_text, error_class, intent_at_ms";

/// Records streamed from a store in chunks, in its order
/// ([`JournalStore::records_in_written_order`]).
pub type RecordStream = Box<dyn Iterator<Item = Result<PlanRecords, JournalError>> + Send>;

/// How both stores' upserts keep the latest record per recipient (the SQL both dialects share).
pub(crate) const ON_CONFLICT_KEEP_LATEST: &str = "ON CONFLICT (campaign, recipient) DO UPDATE SET
    content_hash = excluded.content_hash, state = excluded.state,
    endpoint = excluded.endpoint, call_id = excluded.call_id,
    msg_random = excluded.msg_random, msg_seq = excluded.msg_seq,
    msg_key = excluded.msg_key, msg_time = excluded.msg_time,
    error_code = excluded.error_code, error_text = excluded.error_text,
    error_class = excluded.error_class, attempts = excluded.attempts,
    intent_at_ms = excluded.intent_at_ms, updated_at_ms = excluded.updated_at_ms,
    variant = excluded.variant, locale = excluded.locale";

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
        "the journal {location} has schema version {found}, newer than this timcast knows ({known}): upgrade timcast"
    )]
    TooNew {
        location: String,
        found: i32,
        known: i32,
    },
    #[error("the journal {location} holds an unknown {what} `{value}`")]
    BadValue {
        location: String,
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
        "campaign `{campaign}` is being applied by another process (lock {location}); wait for it to finish"
    )]
    Locked { campaign: String, location: String },
    #[error("cannot take the lock {path}: {source}")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("journal {location}: {message}")]
    PgUrl { location: String, message: String },
    // Not a `source`: the cause is printed here, once, with any password removed.
    #[error("journal {location}: {}", crate::journal::postgres::error_text(error))]
    Postgres {
        location: String,
        error: ::postgres::Error,
    },
    #[error("journal {location}: {message}")]
    PgGone { location: String, message: String },
    #[error("cannot start a thread to read the journal {path}: {source}")]
    Thread {
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
    /// In the campaign's holdout (control) group: planned and recorded, never sent.
    HeldOut,
    /// Not sent: the recipient had reached the campaign's frequency cap (`error_text` says
    /// how). A later run checks the cap again.
    Capped,
}

impl SendState {
    pub fn as_str(self) -> &'static str {
        match self {
            SendState::Intent => "intent",
            SendState::Sent => "sent",
            SendState::Failed => "failed",
            SendState::Uncertain => "uncertain",
            SendState::Recalled => "recalled",
            SendState::HeldOut => "held_out",
            SendState::Capped => "capped",
        }
    }

    /// How reports and summaries name the state: an intent without an outcome is a send
    /// "in flight" (the journal's own word stays `intent`).
    pub fn report_name(self) -> &'static str {
        match self {
            SendState::Intent => "in flight",
            SendState::HeldOut => "held out",
            other => other.as_str(),
        }
    }

    /// Whether a call was made (or begun) for the recipient: not for the holdout or the capped.
    pub fn was_attempted(self) -> bool {
        !matches!(self, SendState::HeldOut | SendState::Capped)
    }

    pub fn parse(text: &str) -> Option<SendState> {
        Some(match text {
            "intent" => SendState::Intent,
            "sent" => SendState::Sent,
            "failed" => SendState::Failed,
            "uncertain" => SendState::Uncertain,
            "recalled" => SendState::Recalled,
            "held_out" => SendState::HeldOut,
            "capped" => SendState::Capped,
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
    /// The campaign's variant the recipient was assigned to (`variants:`), if it has any.
    pub variant: Option<String>,
    /// The `locales:` entry their message came from; `None` for the default message.
    pub locale: Option<String>,
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
            variant: None,
            locale: None,
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

/// This runner's share of its app's rate budget (1.0 alone), kept current by the store while
/// it lives; dropping it leaves the budget to the others.
#[derive(Debug)]
pub struct RateShare {
    share: Arc<AtomicU64>,
    runners: u64,
    start_after: Duration,
    _keeper: Box<dyn std::fmt::Debug + Send>,
}

impl RateShare {
    pub(crate) fn new(
        share: Arc<AtomicU64>,
        runners: u64,
        start_after: Duration,
        keeper: impl std::fmt::Debug + Send + 'static,
    ) -> RateShare {
        RateShare {
            share,
            runners,
            start_after,
            _keeper: Box::new(keeper),
        }
    }

    /// The share now, in (0, 1].
    pub fn get(&self) -> f64 {
        f64::from_bits(self.share.load(Ordering::Relaxed))
    }

    /// The cell the store updates (the limiter reads it on every call).
    pub fn cell(&self) -> Arc<AtomicU64> {
        self.share.clone()
    }

    /// Runners of the app when this one joined, itself included.
    pub fn runners(&self) -> u64 {
        self.runners
    }

    /// How long to wait before the first call: the others make room first.
    pub fn start_after(&self) -> Duration {
        self.start_after
    }
}

/// One campaign's recipients in a store, counted by state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CampaignCounts {
    pub campaign: String,
    pub states: std::collections::BTreeMap<&'static str, u64>,
    pub total: u64,
}

impl CampaignCounts {
    /// Folds (campaign, state, count) rows sorted by campaign into one entry per campaign.
    pub(crate) fn fold(
        rows: impl IntoIterator<Item = (String, SendState, u64)>,
    ) -> Vec<CampaignCounts> {
        let mut out: Vec<CampaignCounts> = Vec::new();
        for (campaign, state, n) in rows {
            if out.last().is_none_or(|c| c.campaign != campaign) {
                out.push(CampaignCounts {
                    campaign,
                    states: Default::default(),
                    total: 0,
                });
            }
            if let Some(last) = out.last_mut() {
                *last.states.entry(state.as_str()).or_default() += n;
                last.total += n;
            }
        }
        out
    }
}

/// A send to one recipient from any campaign: (campaign, content hash, intent time in ms).
pub type RecentSend = (String, String, i64);

/// The states that count as a message a recipient got (or may have: in flight, uncertain),
/// as SQL both dialects share: what official accounts' limits and frequency caps count.
pub(crate) const DELIVERED_STATES: &str = "('intent', 'sent', 'uncertain', 'recalled')";

/// What a frequency cap counts: sends since `since_ms` from campaigns other than
/// `except_campaign`, only those carrying one of `tags` when there are any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapQuery {
    pub since_ms: i64,
    pub except_campaign: String,
    pub tags: Vec<String>,
}

/// What the last run that counted a campaign found: the digest of the inputs it checked
/// (`on_bad_row` and all), and the row before which every recipient is settled. A resumed run
/// over the same inputs sends from that row at once instead of counting first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// SHA-256 of the campaign's input files and of the options that decide what is settled.
    pub digest: String,
    /// Every recipient of an earlier row is settled (sent, recalled, failed for good).
    pub settled_before_row: u64,
    /// Which pending recipients shared a message at the check (`plan::SharedContent`).
    pub shared: Vec<u8>,
    pub checked_at_ms: i64,
}

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

    /// [`JournalStore::records_of`] for a plan: the records carry what a plan reads
    /// ([`PLAN_COLUMNS`]); their other fields are empty. A plan joins every recipient of its
    /// audience this way, so a store reads and decodes no more than that.
    fn plan_records_of(
        &self,
        campaign: &str,
        recipients: &[&str],
        each: &mut dyn FnMut(usize, SendRecord),
    ) -> Result<(), JournalError> {
        self.records_of(campaign, recipients, each)
    }

    /// Every record of `campaign` in the order they were first written, which follows the
    /// audience's (PostgreSQL streams them by intent time from an index, SQLite in rowid
    /// order); `None` when the store cannot stream that order cheaply (SQLite: the campaign
    /// holds under half of the journal's rows, so a scan would mostly read other campaigns).
    /// `records` is the campaign's count of records ([`JournalStore::count`]), which the
    /// caller has already. The planner merges the stream with the audience as it reads it
    /// ([`crate::plan`]'s ordered join) instead of looking every recipient up. The records
    /// carry what a plan reads ([`PLAN_COLUMNS`]), packed a chunk at a time.
    fn records_in_written_order(
        &self,
        _campaign: &str,
        _records: u64,
    ) -> Result<Option<RecordStream>, JournalError> {
        Ok(None)
    }

    /// Every recipient `campaign` has a record of, in any order. The default reads whole
    /// records; SQLite reads the key alone.
    fn for_each_recipient(
        &self,
        campaign: &str,
        each: &mut dyn FnMut(&str),
    ) -> Result<(), JournalError> {
        self.for_each_record(campaign, &mut |record| each(&record.recipient))
    }

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

    /// How many messages each of `recipients` got as [`CapQuery`] counts them:
    /// `each(index, count)` for those with at least one, in any order, a batch per query.
    fn recent_counts(
        &self,
        recipients: &[&str],
        query: &CapQuery,
        each: &mut dyn FnMut(usize, u32),
    ) -> Result<(), JournalError>;

    /// Records `campaign`'s `tags` (replacing what it had), for other campaigns' caps.
    fn set_tags(&mut self, campaign: &str, tags: &[String]) -> Result<(), JournalError>;

    /// Every campaign's tags: (campaign, tag), sorted.
    fn all_tags(&self) -> Result<Vec<(String, String)>, JournalError>;

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

    /// Registers this runner in the rate budget of app `sdkappid`, shared with the runners
    /// applying its other campaigns now; `None` when the store has no registry (SQLite: one
    /// machine, whose runs share nothing). Called under `campaign`'s lock, so a runner of the
    /// campaign still registered is one that died, and takes no share.
    fn join_rate_budget(
        &self,
        _sdkappid: u64,
        _campaign: &str,
    ) -> Result<Option<RateShare>, JournalError> {
        Ok(None)
    }

    /// Every campaign in the store with its recipients counted by state, by name.
    fn campaigns(&self) -> Result<Vec<CampaignCounts>, JournalError>;

    /// Every applied saved plan: (plan ID, campaign, applied at in ms).
    fn applied_plans(&self) -> Result<Vec<(String, String, i64)>, JournalError>;

    /// The store's schema version.
    fn schema_version(&self) -> Result<i32, JournalError>;

    /// The campaign's [`Checkpoint`], if a run saved one.
    fn checkpoint(&self, campaign: &str) -> Result<Option<Checkpoint>, JournalError>;

    /// Replaces the campaign's [`Checkpoint`].
    fn save_checkpoint(&self, campaign: &str, checkpoint: &Checkpoint) -> Result<(), JournalError>;

    /// Moves the checkpoint's row, if its inputs are still `digest`.
    fn advance_checkpoint(
        &self,
        campaign: &str,
        digest: &str,
        row: u64,
    ) -> Result<(), JournalError>;

    /// Every record of `campaign`.
    fn records(&self, campaign: &str) -> Result<Vec<SendRecord>, JournalError> {
        let mut all = Vec::new();
        self.for_each_record(campaign, &mut |r| all.push(r))?;
        Ok(all)
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
