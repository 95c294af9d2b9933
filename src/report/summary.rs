//! The summary every report format but the per-recipient ones shows, aggregated in one pass
//! over the journal and, when the campaign file is known, one over its audience.
//!
//! Nothing here grows with the audience: counters, at most [`MAX_CODES`] error codes, the
//! first `max_problems` failed or uncertain recipients, a [`Timeline`] of bounded size and at
//! most [`MAX_VALUES`] values per breakdown. (The audience pass reads recipients through
//! [`Recipients`], which keeps a 16-byte fingerprint per distinct recipient to drop duplicates
//! exactly as `plan` does.) Every text that comes from outside is clipped, so the HTML page
//! and the Markdown comment stay within their limits at any size.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ReportError;
use super::timeline::Timeline;
use crate::audience::{Recipients, RowOutcome};
use crate::campaign::LoadedCampaign;
use crate::campaign::model::MessageElement;
use crate::im::{ErrorClass, codes};
use crate::journal::{JournalStore, SendRecord, SendState};

/// Error codes kept apart; more are counted together.
pub(crate) const MAX_CODES: usize = 30;
/// Values a breakdown keeps apart; more are counted as "(other values)".
pub(crate) const MAX_VALUES: usize = 30;
/// Longest text from outside (a UserID, an error text, a value) a summary shows, in chars.
pub(crate) const MAX_TEXT_CHARS: usize = 120;
/// Longest description or message preview, in chars.
pub(crate) const MAX_PROSE_CHARS: usize = 1_000;
/// Recipients looked up in the journal at once by the audience pass.
const LOOKUP_BATCH: usize = 512;

/// Counts per state of the journaled recipients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct Counts {
    pub sent: u64,
    pub failed: u64,
    pub uncertain: u64,
    /// Intents without an outcome: in flight now, or a run died.
    pub in_flight: u64,
    pub recalled: u64,
    /// The holdout (control group): journaled, never sent.
    pub held_out: u64,
    /// Over the frequency cap when their send was due.
    pub capped: u64,
}

impl Counts {
    pub(crate) fn add(&mut self, state: SendState) {
        match state {
            SendState::Sent => self.sent += 1,
            SendState::Failed => self.failed += 1,
            SendState::Uncertain => self.uncertain += 1,
            SendState::Intent => self.in_flight += 1,
            SendState::Recalled => self.recalled += 1,
            SendState::HeldOut => self.held_out += 1,
            SendState::Capped => self.capped += 1,
        }
    }

    pub(crate) fn journaled(&self) -> u64 {
        self.sent
            + self.failed
            + self.uncertain
            + self.in_flight
            + self.recalled
            + self.held_out
            + self.capped
    }
}

/// The audience against the journal: what the plan still holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct Plan {
    /// Distinct recipients of the audience now.
    pub audience: u64,
    /// Audience recipients the journal has no record of.
    pub pending: u64,
    /// Kept back as the control group (`holdout`), as journaled.
    pub held_out: u64,
    /// Over a frequency cap when their send was due, as journaled.
    pub capped: u64,
    /// Journaled recipients no longer in the audience.
    pub not_in_audience: u64,
    /// Rows on a suppression list (the campaign's `audience.exclude` or the project's
    /// timcast.toml `suppress`): never part of the audience.
    pub excluded: u64,
    pub duplicates: u64,
    pub bad_rows: u64,
}

/// Failures with one error code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FailureGroup {
    /// `None`: failed without a code (HTTP or network).
    pub code: Option<i64>,
    pub count: u64,
    pub class: &'static str,
    /// The table's meaning of the code, else the first recipient's error text.
    pub meaning: String,
    pub what_to_do: &'static str,
}

/// A failed or uncertain recipient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Problem {
    pub user_id: String,
    pub state: &'static str,
    pub error: String,
    pub attempts: u32,
    pub time: String,
}

/// Counts per value of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Breakdown {
    /// What is broken down: "variant" and "locale" (from the journal), or "column `tier`"
    /// (`--by`, read off the audience).
    pub title: String,
    pub rows: Vec<BreakdownRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BreakdownRow {
    pub value: String,
    pub recipients: u64,
    pub pending: u64,
    #[serde(flatten)]
    pub counts: Counts,
}

/// What the campaign file says, for the page's header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct About {
    pub file: String,
    pub description: Option<String>,
    pub sender: String,
    pub schedule: String,
    pub preview: String,
}

/// A campaign's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Summary {
    pub campaign: String,
    pub generated_at: String,
    pub about: Option<About>,
    pub counts: Counts,
    pub plan: Option<Plan>,
    pub timeline: Timeline,
    pub failures: Vec<FailureGroup>,
    /// Failures whose codes did not fit in [`MAX_CODES`] groups.
    pub other_code_failures: u64,
    pub problems: Vec<Problem>,
    /// Failed and uncertain recipients in all.
    pub problems_total: u64,
    pub breakdowns: Vec<Breakdown>,
}

/// `text` cut to `max` characters, with an ellipsis when cut; control characters escaped.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let printable = super::rows::printable(text);
    if printable.chars().count() <= max {
        return printable.into_owned();
    }
    let mut out: String = printable.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub(crate) fn format_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// A record's error as one line: code and text.
pub(crate) fn error_of(record: &SendRecord) -> String {
    match (&record.error_code, &record.error_text) {
        (Some(code), Some(text)) => format!("{code} {text}"),
        (Some(code), None) => code.to_string(),
        (None, Some(text)) => text.clone(),
        (None, None) => String::new(),
    }
}

/// What to do about failures of a class.
pub(crate) fn what_to_do(class: Option<ErrorClass>) -> &'static str {
    match class {
        Some(ErrorClass::Retry | ErrorClass::RateLimited | ErrorClass::RenewUserSig) => {
            "transient: the next `timcast apply` resends them"
        }
        Some(ErrorClass::PermanentRecipient) => {
            "final for these recipients: check the accounts (imported? blocked?) or drop them from the audience"
        }
        Some(ErrorClass::PermanentRequest) => {
            "the request was refused: fix the message or settings (`timcast validate`, `plan --online`), then apply again"
        }
        Some(ErrorClass::FatalRun) => {
            "the run stopped: fix the app's settings, credentials or sender, then apply again"
        }
        Some(ErrorClass::Unknown) | None => {
            "not in the codes table: look the code up; `apply --retry-unknown` resends them"
        }
    }
}

/// Keeps the first `max` failed or uncertain recipients and counts the rest.
#[derive(Debug)]
pub(crate) struct Problems {
    pub max: usize,
    pub rows: Vec<Problem>,
    pub total: u64,
}

impl Problems {
    pub(crate) fn new(max: usize) -> Problems {
        Problems {
            max,
            rows: Vec::new(),
            total: 0,
        }
    }

    pub(crate) fn add(&mut self, record: &SendRecord) {
        if !matches!(record.state, SendState::Failed | SendState::Uncertain) {
            return;
        }
        self.total += 1;
        if self.rows.len() < self.max {
            self.rows.push(Problem {
                user_id: clip(&record.recipient, MAX_TEXT_CHARS),
                state: record.state.report_name(),
                error: clip(&error_of(record), MAX_TEXT_CHARS),
                attempts: record.attempts,
                time: format_time(record.updated_at_ms),
            });
        }
    }
}

/// What the summary needs besides the journal.
#[derive(Debug, Clone, Default)]
pub(crate) struct SummaryOptions {
    /// A CSV column to break the audience down by.
    pub by: Option<String>,
    /// Failed or uncertain recipients listed.
    pub max_problems: usize,
    /// "Now", RFC 3339.
    pub generated_at: String,
}

/// The summary of `campaign`: one pass over the journal, one over the audience when the
/// campaign file is known.
pub(crate) fn collect(
    journal: &dyn JournalStore,
    campaign: &str,
    loaded: Option<&LoadedCampaign>,
    options: &SummaryOptions,
) -> Result<Summary, ReportError> {
    let mut counts = Counts::default();
    let mut timeline = Timeline::default();
    let mut problems = Problems::new(options.max_problems);
    let mut codes: BTreeMap<Option<i64>, FailureGroup> = BTreeMap::new();
    let mut other_code_failures = 0;
    let mut variants = Tally::new("variant".to_owned());
    let mut locales = Tally::new("locale".to_owned());
    let (mut with_variant, mut with_locale) = (false, false);
    journal.for_each_record(campaign, &mut |record| {
        counts.add(record.state);
        // Variants and the holdout side by side, so results compare with the control group.
        let variant = match (&record.variant, record.state) {
            (_, SendState::HeldOut) => "held out",
            (Some(v), _) => v.as_str(),
            (None, _) => "(none)",
        };
        with_variant |= variant != "(none)";
        variants.record(variant, record.state);
        with_locale |= record.locale.is_some();
        locales.record(record.locale.as_deref().unwrap_or("default"), record.state);
        timeline.add(record.intent_at_ms);
        problems.add(&record);
        if record.state != SendState::Failed {
            return;
        }
        if let Some(group) = codes.get_mut(&record.error_code) {
            group.count += 1;
        } else if codes.len() < MAX_CODES {
            let class = record
                .error_class
                .or(record.error_code.map(codes::classify));
            let meaning = record
                .error_code
                .and_then(codes::describe)
                .map(str::to_owned)
                .or_else(|| {
                    record
                        .error_text
                        .as_deref()
                        .map(|t| clip(t, MAX_TEXT_CHARS))
                })
                .unwrap_or_default();
            codes.insert(
                record.error_code,
                FailureGroup {
                    code: record.error_code,
                    count: 1,
                    class: class.map_or("unknown", ErrorClass::as_str),
                    meaning,
                    what_to_do: what_to_do(class),
                },
            );
        } else {
            other_code_failures += 1;
        }
    })?;
    let mut failures: Vec<FailureGroup> = codes.into_values().collect();
    failures.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
    let (plan, mut breakdowns) = match loaded {
        Some(loaded) => {
            let (plan, breakdowns) = audience_pass(journal, campaign, loaded, options, &counts)?;
            (Some(plan), breakdowns)
        }
        None => (None, Vec::new()),
    };
    if with_locale {
        breakdowns.insert(0, locales.into_breakdown());
    }
    if with_variant {
        breakdowns.insert(0, variants.into_breakdown());
    }
    Ok(Summary {
        campaign: campaign.to_owned(),
        generated_at: options.generated_at.clone(),
        about: loaded.map(about),
        counts,
        plan,
        timeline,
        failures,
        other_code_failures,
        problems: problems.rows,
        problems_total: problems.total,
        breakdowns,
    })
}

/// Counts per value of one dimension, at most [`MAX_VALUES`] values apart.
struct Tally {
    title: String,
    rows: BTreeMap<String, BreakdownRow>,
    other: Option<BreakdownRow>,
}

impl Tally {
    fn new(title: String) -> Tally {
        Tally {
            title,
            rows: BTreeMap::new(),
            other: None,
        }
    }

    fn into_breakdown(self) -> Breakdown {
        Breakdown {
            title: self.title,
            rows: self.rows.into_values().chain(self.other).collect(),
        }
    }

    /// Counts a journaled recipient under `value`.
    fn record(&mut self, value: &str, state: SendState) {
        let row = self.row(value);
        row.recipients += 1;
        row.counts.add(state);
    }

    fn row(&mut self, value: &str) -> &mut BreakdownRow {
        let fresh = |value: &str| BreakdownRow {
            value: value.to_owned(),
            recipients: 0,
            pending: 0,
            counts: Counts::default(),
        };
        let value = clip(value, MAX_TEXT_CHARS);
        if !self.rows.contains_key(&value) && self.rows.len() >= MAX_VALUES {
            return self.other.get_or_insert_with(|| fresh("(other values)"));
        }
        self.rows
            .entry(value.clone())
            .or_insert_with(|| fresh(&value))
    }
}

/// The `--by` column's values, counted as recipients are looked up.
struct ByColumn {
    index: usize,
    tally: Tally,
}

fn audience_pass(
    journal: &dyn JournalStore,
    campaign: &str,
    loaded: &LoadedCampaign,
    options: &SummaryOptions,
    counts: &Counts,
) -> Result<(Plan, Vec<Breakdown>), ReportError> {
    let mut recipients = Recipients::of_campaign(loaded, true)?;
    let mut by = match &options.by {
        None => None,
        Some(column) => {
            let Some(index) = recipients.columns().iter().position(|c| c == column) else {
                return Err(ReportError::UnknownColumn {
                    column: column.clone(),
                    columns: recipients.columns().join(", "),
                });
            };
            Some(ByColumn {
                index,
                tally: Tally::new(format!("column `{column}`")),
            })
        }
    };
    let mut plan = Plan::default();
    let mut journaled_in_audience = 0;
    let mut batch: Vec<(String, String)> = Vec::with_capacity(LOOKUP_BATCH);
    let mut flush =
        |batch: &mut Vec<(String, String)>, by: &mut Option<ByColumn>| -> Result<(), ReportError> {
            let ids: Vec<&str> = batch.iter().map(|(id, _)| id.as_str()).collect();
            let mut states: Vec<Option<SendState>> = vec![None; ids.len()];
            journal.states_of(campaign, &ids, &mut |i, state| {
                if let Some(slot) = states.get_mut(i) {
                    *slot = Some(state);
                }
            })?;
            for ((_, value), state) in batch.iter().zip(&states) {
                journaled_in_audience += u64::from(state.is_some());
                if let Some(by) = by.as_mut() {
                    let row = by.tally.row(value);
                    row.recipients += 1;
                    match state {
                        Some(state) => row.counts.add(*state),
                        None => row.pending += 1,
                    }
                }
            }
            batch.clear();
            Ok(())
        };
    while let Some(outcome) = recipients.next_row() {
        match outcome? {
            RowOutcome::Recipient(row) => {
                plan.audience += 1;
                let value = by
                    .as_ref()
                    .and_then(|b| row.record.get(b.index))
                    .unwrap_or_default()
                    .to_owned();
                batch.push((row.user_id, value));
                if batch.len() >= LOOKUP_BATCH {
                    flush(&mut batch, &mut by)?;
                }
            }
            RowOutcome::Excluded { .. } => plan.excluded += 1,
            RowOutcome::Duplicate { .. } => plan.duplicates += 1,
            RowOutcome::Bad(_) => plan.bad_rows += 1,
        }
    }
    flush(&mut batch, &mut by)?;
    plan.pending = plan.audience.saturating_sub(journaled_in_audience);
    plan.not_in_audience = counts.journaled().saturating_sub(journaled_in_audience);
    plan.held_out = counts.held_out;
    plan.capped = counts.capped;
    let breakdowns = by.map(|by| by.tally.into_breakdown()).into_iter().collect();
    Ok((plan, breakdowns))
}

fn about(loaded: &LoadedCampaign) -> About {
    let campaign = &loaded.campaign;
    let preview = campaign
        .message
        .iter()
        .map(|element| match element {
            MessageElement::Text(text) => text.clone(),
            MessageElement::TextFile(file) => format!("[text from {file}]"),
            MessageElement::Custom(custom) => match &custom.desc {
                Some(desc) => format!("[custom: {desc}]"),
                None => "[custom data]".to_owned(),
            },
            MessageElement::File(file) => format!("[file {}]", file.name),
            other => format!("[{}]", other.kind()),
        })
        .collect::<Vec<_>>()
        .join("\n");
    About {
        file: loaded
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        description: campaign
            .description
            .as_deref()
            .map(|d| clip(d, MAX_PROSE_CHARS)),
        sender: clip(
            campaign.sender.as_deref().unwrap_or("the App admin"),
            MAX_TEXT_CHARS,
        ),
        schedule: clip(&schedule_text(campaign), MAX_PROSE_CHARS),
        preview: clip_lines(&preview, MAX_PROSE_CHARS),
    }
}

/// Like [`clip`], keeping line breaks (the preview is shown as a block).
fn clip_lines(text: &str, max: usize) -> String {
    let clipped: Vec<String> = text.lines().map(|l| clip(l, max)).collect();
    let joined = clipped.join("\n");
    if joined.chars().count() <= max {
        return joined;
    }
    let mut out: String = joined.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The schedule as one line, from its fields as the file spells them.
fn schedule_text(campaign: &crate::campaign::model::Campaign) -> String {
    let Some(schedule) = &campaign.schedule else {
        return "none: sent when applied".to_owned();
    };
    fn flat(value: &serde_json::Value) -> String {
        match value {
            serde_json::Value::Object(map) => map
                .iter()
                .map(|(k, v)| format!("{k} {}", flat(v)))
                .collect::<Vec<_>>()
                .join(", "),
            serde_json::Value::Array(items) => items.iter().map(flat).collect::<Vec<_>>().join(" "),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    serde_json::to_value(schedule)
        .map(|v| flat(&v))
        .unwrap_or_default()
}
