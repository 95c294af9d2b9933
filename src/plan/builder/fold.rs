//! Folding one rendered recipient into the plan: its diff against the journal, whether it is
//! sent (the holdout and the frequency cap keep some back), and the counts, samples, previews
//! and the send it hands to `apply`.

use super::super::pipeline::Rendered;
use super::super::*;
use super::Builder;

impl Builder<'_> {
    /// Adds one rendered recipient to the plan.
    pub(super) fn fold(&mut self, item: Rendered) {
        let official = self.loaded.campaign.audience.official_account.is_some();
        let row = (!official).then_some(item.row.row);
        let timezone = self
            .timezone_column
            .and_then(|i| item.row.record.get(i))
            .map(str::to_owned);
        let user_id = item.row.user_id;
        let prior = item.prior;
        let assignment = item.assignment;
        if prior.is_some() {
            self.matched += 1;
        }
        let (resend_changed, retry_unknown) =
            (self.options.resend_changed, self.options.retry_unknown);
        if self.plan.first_unsettled_row.is_none()
            && !prior
                .as_ref()
                .is_some_and(|p| p.settles(resend_changed, retry_unknown))
        {
            self.plan.first_unsettled_row = Some(item.row.row);
        }
        if assignment.held_out
            && item.outcome.is_none()
            && holds_out(prior.as_ref().map(|p| p.state))
        {
            return self.held_out(row, user_id, prior.as_ref(), timezone);
        }
        // Not rendered: settled by its record whatever the message (a sends-only pass, or
        // counted by that record).
        let Some(outcome) = item.outcome else {
            if let Some(prior) = prior.filter(|_| self.by_record()) {
                self.count_by_record(row, &user_id, &prior);
            }
            return;
        };
        let unsendable = |this: &mut Self, user_id: String, why: String| {
            this.plan.audience.render_errors += 1;
            let at = row.map_or_else(|| user_id.clone(), |r| format!("row {r} ({user_id})"));
            this.problem(row, Some(user_id), format!("{at}: {why}"));
        };
        let (message, facts, chunks) = match outcome {
            Ok(ok) => ok,
            Err(failure) => return unsendable(self, user_id, failure.to_string()),
        };
        if let Some(problem) = self.check_limits(&facts) {
            return unsendable(self, user_id, problem);
        }
        self.plan.audience.recipients += 1;
        let prior = prior.as_ref();
        let (state, detail) = match prior {
            None => (DiffState::New, None),
            Some(p) => match p.state {
                SendState::Recalled => (DiffState::Recalled, None),
                // Held out or capped before, in neither now: never sent.
                SendState::HeldOut | SendState::Capped => (DiffState::New, None),
                SendState::Sent if p.content_hash == Some(facts.hash) => {
                    (DiffState::Unchanged, None)
                }
                SendState::Sent => (DiffState::Changed, None),
                SendState::Intent | SendState::Uncertain => (DiffState::Uncertain, None),
                SendState::Failed
                    if p.retryable || (p.unknown_code.is_some() && self.options.retry_unknown) =>
                {
                    (DiffState::Retry, p.error.clone())
                }
                SendState::Failed => {
                    if let Some(code) = p.unknown_code {
                        *self.plan.unknown_codes.entry(code).or_default() += 1;
                    }
                    (DiffState::Failed, p.error.clone())
                }
            },
        };
        // The holdout is never sent to, whatever its record says.
        let mut pending = !assignment.held_out
            && match state {
                DiffState::New | DiffState::Retry => true,
                DiffState::Changed => self.options.resend_changed,
                DiffState::Uncertain => self.options.resend_uncertain,
                _ => false,
            };
        // An interrupted send is settled as one, not counted against the cap.
        let capped = match &self.cap {
            Some(cap) if pending && state != DiffState::Uncertain => cap.verdict(item.recent),
            _ => None,
        };
        let (state, detail) = match &capped {
            Some(why) => {
                pending = false;
                (DiffState::Capped, Some(why.clone()))
            }
            None => (state, detail),
        };
        // A record of a send that went out (or may have) stays as it is.
        let capped = capped.filter(|_| holds_out(prior.map(|p| p.state)));
        // `apply` resends these on its own, so the plan counts them as sends too.
        if state == DiffState::Uncertain
            && !pending
            && !assignment.held_out
            && let Some(p) = prior
            && let Some(now) = self.options.now
            && p.content_hash == Some(facts.hash)
            && crate::apply::inside_dedup_window(p.endpoint, p.intent_at_ms, now.as_millisecond())
        {
            self.plan.resends_in_window += 1;
        }
        if pending || state == DiffState::Uncertain {
            self.judge_window(timezone.as_deref(), pending);
        }
        if pending {
            self.plan.pending += 1;
            if !self.sends_only() {
                self.pending_prefixes.push(prefix_of(&facts.hash));
            }
            self.stream_calls += chunks;
        }
        self.count_state(state, row, &user_id, detail);
        if let Some(v) = assignment
            .variant
            .filter(|_| !assignment.held_out)
            .and_then(|v| self.plan.variants.get_mut(usize::from(v)))
        {
            v.recipients += 1;
            v.pending += u64::from(pending);
            if let (None, Some(message)) = (&v.preview, &message) {
                v.preview = Some(output::message_text(message));
                v.example_user_id = Some(user_id.clone());
            }
        }
        let locale_slot = assignment.locale.map_or(0, |l| usize::from(l) + 1);
        if let Some(l) = self.plan.locales.get_mut(locale_slot) {
            l.recipients += 1;
            l.pending += u64::from(pending);
        }
        match (self.preview_index.get(&facts.hash), &message) {
            _ if state == DiffState::Capped => {}
            (Some(&index), _) => self.plan.previews[index].recipients += 1,
            (None, Some(message)) if self.plan.previews.len() < self.options.previews => {
                self.preview_index
                    .insert(facts.hash, self.plan.previews.len());
                self.plan.previews.push(Preview {
                    recipients: 1,
                    example_user_id: user_id.clone(),
                    content_hash: request::hex(&facts.hash),
                    text: output::message_text(message),
                    message: (**message).clone(),
                });
            }
            (None, _) => {}
        }
        if let (Some(sink), Some(message)) = (self.sink.as_mut(), message) {
            sink(PlannedSend {
                row,
                user_id,
                state,
                pending,
                message: *message,
                content_hash: facts.hash,
                timezone,
                variant: assignment
                    .variant
                    .and_then(|v| self.variant_names.get(usize::from(v)))
                    .cloned(),
                locale: assignment
                    .locale
                    .and_then(|l| self.locale_names.get(usize::from(l)))
                    .cloned(),
                held_out: assignment.held_out,
                capped,
            });
        }
    }

    /// A recipient [`super::build_counts`] did not render: its record settles it, so nothing
    /// is sent, and its state is read off the record (a sent one counts as unchanged).
    fn count_by_record(&mut self, row: Option<u64>, user_id: &str, prior: &super::prior::Prior) {
        let (state, detail) = match prior.state {
            SendState::Recalled => (DiffState::Recalled, None),
            SendState::Failed => {
                if let Some(code) = prior.unknown_code {
                    *self.plan.unknown_codes.entry(code).or_default() += 1;
                }
                (DiffState::Failed, prior.error.clone())
            }
            _ => (DiffState::Unchanged, None),
        };
        self.plan.audience.recipients += 1;
        self.plan.counted_by_record += 1;
        self.count_state(state, row, user_id, detail);
    }

    /// A recipient of the holdout that nothing was sent to: counted, and handed to `apply`
    /// to be journaled unless it already is.
    fn held_out(
        &mut self,
        row: Option<u64>,
        user_id: String,
        prior: Option<&super::prior::Prior>,
        timezone: Option<String>,
    ) {
        self.plan.audience.recipients += 1;
        self.count_state(DiffState::HeldOut, row, &user_id, None);
        if prior.is_some_and(|p| p.state == SendState::HeldOut) {
            return;
        }
        if let Some(sink) = self.sink.as_mut() {
            sink(PlannedSend {
                row,
                user_id,
                state: DiffState::HeldOut,
                pending: false,
                message: RenderedMessage::default(),
                content_hash: request::ContentHash::default(),
                timezone,
                variant: None,
                locale: None,
                held_out: true,
                capped: None,
            });
        }
    }

    pub(super) fn count_state(
        &mut self,
        state: DiffState,
        row: Option<u64>,
        user_id: &str,
        detail: Option<String>,
    ) {
        *self.plan.states.entry(state).or_default() += 1;
        let samples = self.plan.samples.entry(state).or_default();
        if samples.len() < self.options.samples {
            samples.push(Sample {
                row,
                user_id: user_id.to_owned(),
                detail,
            });
        }
    }
}
