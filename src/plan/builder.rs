//! The planner's engine: every recipient read from any source, rendered on every core in
//! row order, compared with its journal record, and folded into counts, samples, previews and
//! the calls to make.

mod finish;
mod fold;
mod gates;

use super::assign::Flavors;
use super::caps::CapCheck;
use super::gone;
use super::ordered::OrderedJoin;
use super::pipeline::{Join, render_pipeline};
use super::present::Present;
use super::prior::Prior;
use super::quota::{self, HourQuota};
use super::*;
use crate::audience::{ExcludedBy, count_lines};

/// Builds the plan of a validated campaign.
pub fn build(loaded: &LoadedCampaign, options: &PlanOptions) -> Result<Plan, PlanError> {
    build_with(loaded, options, None)
}

/// Builds the plan and hands every recipient, in row order, with its message to `sink`.
pub fn build_with<'a>(
    loaded: &'a LoadedCampaign,
    options: &'a PlanOptions,
    sink: Option<&'a mut dyn FnMut(PlannedSend)>,
) -> Result<Plan, PlanError> {
    build_inner(loaded, options, sink, Pass::Full)
}

/// The pass `apply` counts from before it sends: the plan [`build`] makes, except that the
/// recipients the journal settles whatever their message (sent, recalled, failed for good)
/// are counted by their record and not rendered, but for one per chunk, so that a message
/// changed since it was sent is still noticed (`timcast plan` counts those exactly).
pub fn build_counts(loaded: &LoadedCampaign, options: &PlanOptions) -> Result<Plan, PlanError> {
    build_inner(loaded, options, None, Pass::Counts)
}

/// Which pass over the audience a plan is built by.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Every recipient rendered and counted (`timcast plan`).
    Full,
    /// [`build_counts`].
    Counts,
    /// [`build_sends`], from this row on, with the first pass's count of records.
    Sends { from_row: u64, records: u64 },
}

/// The pass `apply` sends from: hands `sink` the recipients it sends to and those whose sends
/// are uncertain, in row order, and nothing else. Recipients the journal settles whatever
/// their message (sent, recalled, failed for good) are not rendered, so a resumed run reaches
/// its first pending recipient fast; the counts are not kept (the returned plan's are partial).
///
/// Rows before `from_row` (the first pass's [`Plan::first_unsettled_row`]) are read but not
/// looked up: the first pass found nothing to send there. `records` is the first pass's count
/// of the campaign's records (the journal is joined if there are any). (Should the audience file change
/// between the passes, a recipient added there is left for the next run, never sent twice.)
pub fn build_sends<'a>(
    loaded: &'a LoadedCampaign,
    options: &'a PlanOptions,
    from_row: u64,
    records: u64,
    sink: &'a mut dyn FnMut(PlannedSend),
) -> Result<Plan, PlanError> {
    build_inner(
        loaded,
        options,
        Some(sink),
        Pass::Sends { from_row, records },
    )
}

fn build_inner<'a>(
    loaded: &'a LoadedCampaign,
    options: &'a PlanOptions,
    sink: Option<&'a mut dyn FnMut(PlannedSend)>,
    pass: Pass,
) -> Result<Plan, PlanError> {
    let sends_only = matches!(pass, Pass::Sends { .. });
    let campaign = &loaded.campaign;
    let journal = options.state.open_existing()?;
    let mut read = JournalRead {
        path: options.state.shown(),
        exists: journal.is_some(),
        records: 0,
    };
    read.records = match (&journal, pass) {
        (Some(_), Pass::Sends { records, .. }) => records,
        (Some(journal), _) => journal.count(&campaign.name)?,
        (None, _) => 0,
    };
    let settings = RequestSettings::from_campaign(campaign);
    // Nothing was sent before there is a journal, so nobody is capped.
    let cap = match (&campaign.frequency_cap, &journal) {
        (Some(cap), Some(_)) => Some(CapCheck::new(
            cap,
            &campaign.name,
            options
                .now
                .unwrap_or_else(jiff::Timestamp::now)
                .as_millisecond(),
        )),
        _ => None,
    };
    let mut builder = Builder {
        cap,
        loaded,
        options,
        hasher: ContentHasher::new(&settings),
        // A journal without records of the campaign has nothing to join.
        joined: read.records > 0,
        journal,
        matched: 0,
        pass,
        audience_lines: None,
        plan: Plan::empty(loaded, read),
        pending_prefixes: Vec::new(),
        sends_chunk: (SENDS_CHUNK_ROWS, 0),
        sink,
        preview_index: HashMap::new(),
        stream_calls: 0,
        oversize_warned: false,
        timezone_column: None,
        window_gates: HashMap::new(),
        latest_window_opening: None,
        variant_names: Vec::new(),
        locale_names: Vec::new(),
    };
    builder.plan.audience.kind = match (&campaign.audience.csv, &campaign.audience.official_account)
    {
        (Some(csv), _) => AudienceKind::Csv {
            path: loaded
                .resolve(csv)
                .map_err(|p| PlanError::Campaign(format!("audience.csv `{csv}`: {p:?}")))?,
        },
        (None, Some(account)) => AudienceKind::OfficialAccount {
            account: account.to_owned(),
            subscribers: None,
        },
        (None, None) => {
            return Err(PlanError::Campaign(
                "the campaign has no audience".to_owned(),
            ));
        }
    };
    builder.audience(Recipients::of_campaign(loaded, true)?)?;
    if sends_only {
        return Ok(builder.plan);
    }
    builder.finish();
    if let (Some(account), Some(journal)) = (&campaign.audience.official_account, &builder.journal)
    {
        official_account_limits(&mut builder.plan, journal.as_ref(), account)?;
    }
    Ok(builder.plan)
}

impl Plan {
    /// A plan of nothing yet, for `journal`, that a pass fills in.
    pub(crate) fn empty(loaded: &LoadedCampaign, journal: JournalRead) -> Plan {
        Plan {
            campaign: loaded.campaign.name.clone(),
            description: loaded.campaign.description.clone(),
            campaign_file: loaded.path.clone(),
            schedule: loaded
                .campaign
                .schedule
                .as_ref()
                .map(crate::schedule::describe),
            message: MessageSettings::of(&loaded.campaign),
            journal,
            audience: AudienceSummary {
                kind: AudienceKind::Csv {
                    path: PathBuf::new(),
                },
                rows: 0,
                recipients: 0,
                duplicates: 0,
                excluded: 0,
                suppressed: 0,
                bad_rows: 0,
                render_errors: 0,
            },
            states: BTreeMap::new(),
            pending: 0,
            resends_in_window: 0,
            inside_window_now: None,
            calls: BTreeMap::new(),
            estimated_seconds: 0.0,
            warnings: Vec::new(),
            problems: Vec::new(),
            blocked: false,
            samples: BTreeMap::new(),
            previews: Vec::new(),
            shared: SharedContent::default(),
            first_unsettled_row: None,
            counted_by_record: 0,
            pending_is_estimate: false,
            changes: None,
            unknown_codes: BTreeMap::new(),
            online: Vec::new(),
            closed: None,
            variants: Vec::new(),
            locales: Vec::new(),
        }
    }
}

/// The account's documented limits, from what the journal says it sent lately.
fn official_account_limits(
    plan: &mut Plan,
    journal: &dyn JournalStore,
    account: &str,
) -> Result<(), PlanError> {
    if plan.pending == 0 {
        return Ok(());
    }
    let quota = HourQuota::read(journal, account, jiff::Timestamp::now().as_millisecond())?;
    if let Some(why) = quota.held_back() {
        plan.warnings.push(why);
        plan.estimated_seconds = plan.estimated_seconds.max(quota.wait_seconds());
    }
    let hashes: Vec<&str> = plan
        .previews
        .iter()
        .map(|p| p.content_hash.as_str())
        .collect();
    if let Some((campaign, when)) = quota.duplicate_of(&hashes) {
        plan.warnings.push(format!(
            "the same content went to {account} at {} (campaign {campaign}); the server drops identical content sent within 5 minutes",
            quota::clock(when)
        ));
    }
    Ok(())
}

struct Builder<'a> {
    loaded: &'a LoadedCampaign,
    options: &'a PlanOptions,
    hasher: ContentHasher,
    journal: Option<Box<dyn JournalStore>>,
    /// Whether the audience is joined to the journal (it has records of the campaign).
    joined: bool,
    /// The campaign's frequency cap, when there is a journal to count in.
    cap: Option<CapCheck>,
    /// Recipients of the audience the journal has a record of.
    matched: u64,
    pass: Pass,
    /// Lines of the audience CSV, once counted.
    audience_lines: Option<u64>,
    plan: Plan,
    /// Hash prefix of every pending send: recipients with identical requests can share a batch.
    pending_prefixes: Vec<u64>,
    sink: Option<&'a mut dyn FnMut(PlannedSend)>,
    /// Content hash -> index in `plan.previews`.
    preview_index: HashMap<[u8; 16], usize>,
    stream_calls: u64,
    oversize_warned: bool,
    /// Index of the CSV column with each recipient's time zone.
    timezone_column: Option<usize>,
    /// What each recipient time zone's window says now (zones repeat across the audience).
    window_gates: HashMap<String, crate::schedule::Gate>,
    /// The latest instant a pending recipient's window opens, when some are closed now.
    latest_window_opening: Option<jiff::Timestamp>,
    /// A sends-only pass's next chunk size, and the pending count when it was chosen.
    sends_chunk: (usize, u64),
    /// The campaign's variants and translations, as the assignment numbers them.
    variant_names: Vec<String>,
    locale_names: Vec<String>,
}

/// Rows per chunk in a sends-only pass: what the pipeline holds ahead of the executor is a few
/// chunks, so smaller ones keep apply's window of rendered messages small.
const SENDS_CHUNK_ROWS: usize = 512;
/// The most rows per chunk of a sends-only pass (while nothing is being sent).
const SENDS_CHUNK_ROWS_SETTLED: usize = 2048;

/// Most problems listed in a plan; the rest are counted.
pub(super) const MAX_PROBLEMS: usize = 20;

impl Builder<'_> {
    /// Reads, renders and folds every recipient of any source.
    fn audience(&mut self, mut reader: Recipients) -> Result<(), PlanError> {
        let flavors = Flavors::new(self.loaded, reader.columns())?;
        self.variant_names = flavors.variant_names.clone();
        self.locale_names = flavors.locales.clone();
        self.plan.variants = self
            .loaded
            .campaign
            .variants
            .iter()
            .map(|v| VariantCount {
                name: v.name.clone(),
                weight: v.weight,
                recipients: 0,
                pending: 0,
                preview: None,
                example_user_id: None,
            })
            .collect();
        if !self.loaded.campaign.locales.is_empty() || !self.locale_names.is_empty() {
            self.plan.locales = std::iter::once("default".to_owned())
                .chain(self.locale_names.iter().cloned())
                .map(|locale| LocaleCount {
                    locale,
                    recipients: 0,
                    pending: 0,
                })
                .collect();
        }
        self.timezone_column = self
            .loaded
            .campaign
            .schedule
            .as_ref()
            .and_then(|s| s.window.as_ref())
            .and_then(|w| w.recipient_timezone_column.as_ref())
            .and_then(|column| reader.columns().iter().position(|c| c == column));
        let threads = match self.options.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let keep_messages =
            std::sync::atomic::AtomicBool::new(self.options.previews > 0 || self.sink.is_some());
        let hasher = self.hasher.clone();
        let chunk_chars = self.stream_chunk_chars();
        let (resend_changed, retry_unknown) =
            (self.options.resend_changed, self.options.retry_unknown);
        let settled = move |prior: &Prior| prior.settles(resend_changed, retry_unknown);
        let cap = self.cap.clone();
        // The sending pass keeps to keyed lookups: it reads at the pace of the sends.
        let mut ordered = match &self.journal {
            Some(journal) if self.joined && !self.sends_only() => journal
                .records_in_written_order(&self.loaded.campaign.name, self.plan.journal.records)?
                .map(OrderedJoin::new),
            _ => None,
        };
        // Without a stream, and with far fewer records than rows (a resumed run), a filter of
        // the journal's recipients spares the lookups of those it has no record of.
        let present = match (&ordered, self.joined && !self.sends_only()) {
            (None, true) => {
                let lines = self.audience_lines();
                match &self.journal {
                    Some(journal) => self.present_filter(journal.as_ref(), lines)?,
                    None => None,
                }
            }
            _ => None,
        };
        let join = Join {
            state: &self.options.state,
            campaign: &self.loaded.campaign.name,
            records: self.joined,
            cap: cap.as_ref(),
            settled: (self.sends_only() || self.by_record())
                .then_some(&settled as &(dyn Fn(&Prior) -> bool + Sync)),
            render_first_settled: self.by_record(),
            present: present.as_ref(),
        };
        let join = (self.joined || cap.is_some()).then_some(&join);
        let this = std::cell::RefCell::new(&mut *self);
        render_pipeline(
            &flavors,
            &hasher,
            chunk_chars,
            threads,
            &keep_messages,
            join,
            ordered.as_mut(),
            |chunk| this.borrow_mut().read_chunk(&mut reader, chunk),
            |item| {
                let mut builder = this.borrow_mut();
                builder.fold(item);
                if builder.plan.previews.len() >= builder.options.previews
                    && builder.sink.is_none()
                    && builder.plan.variants.iter().all(|v| v.preview.is_some())
                {
                    keep_messages.store(false, std::sync::atomic::Ordering::Relaxed);
                }
            },
        )?;
        if let Some(ordered) = &ordered {
            tracing::debug!("{}", ordered.summary());
        }
        // Only the translations some recipient got.
        self.plan.locales.retain(|l| l.recipients > 0);
        if !self.sends_only() {
            self.gone_from_the_audience(&reader)?;
        }
        Ok(())
    }

    /// Counts the recipients sent (or recalled) before who are gone from the audience now,
    /// with the first few by user ID as samples. Only when the journal has records the
    /// audience did not match does this read it again, and then only those states.
    fn gone_from_the_audience(&mut self, reader: &Recipients) -> Result<(), PlanError> {
        let Some(journal) = self.journal.as_ref().filter(|_| self.joined) else {
            return Ok(());
        };
        if self.matched >= self.plan.journal.records {
            return Ok(());
        }
        let (recalled, removed) = gone::read(
            journal.as_ref(),
            &self.loaded.campaign.name,
            reader,
            self.options.samples,
        )?;
        for (state, gone) in [
            (DiffState::Recalled, recalled),
            (DiffState::Removed, removed),
        ] {
            for recipient in &gone.first {
                self.count_state(state, None, recipient, None);
            }
            let rest = gone.count - gone.first.len() as u64;
            if rest > 0 {
                *self.plan.states.entry(state).or_default() += rest;
            }
        }
        Ok(())
    }

    /// [`build_sends`]: only the sends matter.
    fn sends_only(&self) -> bool {
        matches!(self.pass, Pass::Sends { .. })
    }

    /// [`build_counts`]: settled recipients are counted by their record.
    fn by_record(&self) -> bool {
        self.pass == Pass::Counts
    }

    /// Lines of the audience CSV (the header included), read once for the filter and the
    /// line-count check.
    fn audience_lines(&mut self) -> Option<u64> {
        if self.audience_lines.is_none()
            && let AudienceKind::Csv { path } = &self.plan.audience.kind
        {
            self.audience_lines = count_lines(path);
        }
        self.audience_lines
    }

    /// [`Present`] of the campaign, when the journal holds under three quarters as many
    /// records as the audience (`lines`) has rows.
    fn present_filter(
        &self,
        journal: &dyn JournalStore,
        lines: Option<u64>,
    ) -> Result<Option<Present>, PlanError> {
        let records = self.plan.journal.records;
        match lines {
            Some(rows) if records.saturating_mul(4) < rows.saturating_mul(3) => {
                tracing::debug!(
                    "the journal holds {records} records for {rows} lines of audience: only the recipients a filter of its {records} may hold are looked up"
                );
                Ok(Some(Present::of(
                    journal,
                    &self.loaded.campaign.name,
                    records,
                )?))
            }
            _ => Ok(None),
        }
    }

    fn stream_chunk_chars(&self) -> Option<u32> {
        self.loaded.campaign.stream.as_ref().map(|s| s.chunk_chars)
    }

    /// Reads up to a chunk of recipients; false at the end of the file.
    fn read_chunk(
        &mut self,
        reader: &mut Recipients,
        chunk: &mut Vec<RecipientRow>,
    ) -> Result<bool, PlanError> {
        let rows = if self.sends_only() {
            self.next_sends_chunk()
        } else {
            CHUNK_ROWS
        };
        // [`build_sends`]'s `from_row`: recipients of earlier rows are passed over.
        let skip_before_row = match self.pass {
            Pass::Sends { from_row, .. } => from_row,
            Pass::Full | Pass::Counts => 0,
        };
        chunk.reserve(rows);
        while chunk.len() < rows {
            let Some(outcome) = reader.next_row() else {
                return Ok(false);
            };
            self.plan.audience.rows += 1;
            match outcome? {
                RowOutcome::Recipient(row) if row.row < skip_before_row => {}
                RowOutcome::Recipient(row) => chunk.push(row),
                RowOutcome::Bad(bad) => {
                    self.plan.audience.bad_rows += 1;
                    self.problem(
                        Some(bad.row),
                        None,
                        format!("row {}: {}", bad.row, bad.reason),
                    );
                }
                RowOutcome::Excluded { by, .. } => match by {
                    ExcludedBy::Campaign => self.plan.audience.excluded += 1,
                    ExcludedBy::Project => self.plan.audience.suppressed += 1,
                },
                RowOutcome::Duplicate { .. } => self.plan.audience.duplicates += 1,
            }
        }
        Ok(true)
    }

    /// Small chunks while recipients are being sent; while none were since the last chunk (a
    /// resumed run going over those already sent, who are not rendered), twice as many rows
    /// each time, up to [`SENDS_CHUNK_ROWS_SETTLED`]: a store over a network answers each chunk
    /// in one round trip. (The chunks read ahead when sends begin are rendered in full.)
    fn next_sends_chunk(&mut self) -> usize {
        let (rows, pending_then) = self.sends_chunk;
        let rows = if self.plan.pending > pending_then {
            SENDS_CHUNK_ROWS
        } else {
            (rows * 2).min(SENDS_CHUNK_ROWS_SETTLED)
        };
        self.sends_chunk = (rows, self.plan.pending);
        rows
    }

    fn problem(&mut self, row: Option<u64>, user_id: Option<String>, message: String) {
        if self.loaded.campaign.audience.on_bad_row == BadRowPolicy::Fail {
            self.plan.blocked = true;
        }
        if self.plan.problems.len() < MAX_PROBLEMS {
            self.plan.problems.push(RowProblem {
                row,
                user_id,
                message,
            });
        }
    }
}
