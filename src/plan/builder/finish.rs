//! The plan's last step: the pending groups become API calls and a duration, and what the
//! whole audience showed becomes warnings.

use super::*;

impl Builder<'_> {
    /// Turns the pending groups into API calls and a duration.
    pub(super) fn finish(&mut self) {
        self.check_line_count();
        let campaign = &self.loaded.campaign;
        let mut calls: BTreeMap<Endpoint, CallCount> = BTreeMap::new();
        let mut add = |endpoint: Endpoint, calls_made: u64, recipients: u64| {
            let entry = calls.entry(endpoint).or_default();
            entry.calls += calls_made;
            entry.recipients += recipients;
        };
        if campaign.audience.official_account.is_some() {
            if self.plan.pending > 0 {
                add(Endpoint::SendOfficialAccountMsg, 1, 1);
            }
        } else if campaign.stream.is_some() {
            if self.plan.pending > 0 {
                add(
                    Endpoint::SendStreamMsg,
                    self.stream_calls,
                    self.plan.pending,
                );
            }
        } else {
            let prefixes = std::mem::take(&mut self.pending_prefixes);
            let total = prefixes.len() as u64;
            self.plan.shared = SharedContent::from_prefixes(prefixes);
            let mut in_batches = 0;
            if campaign.delivery.batch == BatchMode::Auto {
                for size in self.plan.shared.sizes() {
                    add(
                        Endpoint::BatchSendMsg,
                        size.div_ceil(MAX_BATCH_RECIPIENTS as u64),
                        size,
                    );
                    in_batches += size;
                }
            }
            if total > in_batches {
                add(Endpoint::SendMsg, total - in_batches, total - in_batches);
            }
        }
        let delivery = &campaign.delivery;
        let rate = if delivery.rate > 0.0 {
            delivery.rate
        } else {
            1.0
        };
        let mut seconds: f64 = 0.0;
        for (endpoint, count) in &calls {
            let mut t = count.calls as f64 / rate;
            if *endpoint == Endpoint::BatchSendMsg {
                let per_minute = f64::from(delivery.recipients_per_minute.max(1));
                t = t.max(count.recipients as f64 * 60.0 / per_minute);
            }
            if *endpoint == Endpoint::SendStreamMsg
                && let Some(stream) = &campaign.stream
            {
                // Each recipient's chunks follow one another; recipients stream side by side.
                let per_recipient = (count.calls as f64 / count.recipients.max(1) as f64)
                    * stream.interval_ms as f64
                    / 1000.0;
                let lanes = f64::from(delivery.concurrency.max(1));
                t = t.max(per_recipient * (count.recipients as f64 / lanes).ceil());
            }
            seconds = seconds.max(t);
        }
        self.plan.calls = calls;
        // Recipients outside their window wait for it: the run lasts at least until the last
        // window opens, plus that recipient's send.
        if let (Some(opens), Some(now)) = (self.latest_window_opening, self.options.now) {
            let wait = opens.duration_since(now).as_secs_f64().max(0.0);
            seconds = seconds.max(wait + 1.0 / delivery.rate.max(1e-9));
        }
        self.plan.estimated_seconds = seconds;
        if let Some(count) = self.plan.calls.get(&Endpoint::SendOfficialAccountMsg)
            && count.calls > 0
        {
            self.plan.warnings.push(
                "an official account takes at most 2 broadcasts an hour, and drops identical content sent within 5 minutes".to_owned(),
            );
        }
        let changed = self.plan.count(DiffState::Changed);
        if changed > 0 {
            self.plan.warnings.push(if self.options.resend_changed {
                format!("this plan resends to {changed} recipients whose message changed since it was sent")
            } else if self.plan.counted_by_record > 0 {
                // Only a sample of those already sent was rendered.
                format!("recipients already sent got an earlier version of this message ({changed} of those checked); it is not resent (use --resend-changed; `timcast plan` counts them)")
            } else {
                format!("{changed} recipients got an earlier version of this message; it is not resent (use --resend-changed)")
            });
        }
        let uncertain = self.plan.count(DiffState::Uncertain);
        if uncertain > 0 && !self.options.resend_uncertain {
            self.plan.warnings.push(format!(
                "{uncertain} sends were in flight when a run stopped; apply settles them from the server's message history first (`timcast reconcile` does it now), resends them inside the server's duplicate window, and otherwise only with --resend-uncertain"
            ));
        }
        if !self.plan.unknown_codes.is_empty() {
            let failed: u64 = self.plan.unknown_codes.values().sum();
            let codes: Vec<String> = self.plan.unknown_codes.keys().map(i64::to_string).collect();
            self.plan.warnings.push(format!(
                "{failed} recipients failed with an error code timcast does not know ({}); they are not resent unless you pass --retry-unknown",
                codes.join(", ")
            ));
        }
        let bad = self.plan.audience.bad_rows + self.plan.audience.render_errors;
        if bad > 0 {
            let (recipients, pending) = (self.plan.audience.recipients, self.plan.pending);
            // `on_bad_row: skip` is worth suggesting only when it leaves someone to send to.
            self.plan.warnings.push(if recipients == 0 {
                format!("no row can be sent: {bad} rows have problems and no other recipient is left; fix the data or the template")
            } else if !self.plan.blocked {
                format!("{bad} rows cannot be sent and are skipped")
            } else if pending > 0 {
                let s = if pending == 1 { "" } else { "s" };
                format!("{bad} rows cannot be sent: fix them, or set `audience.on_bad_row: skip` to send to the other {pending} recipient{s}")
            } else {
                format!("{bad} rows cannot be sent: fix them (skipping them would send nothing: the other {recipients} recipients have nothing to send)")
            });
        }
    }

    /// Warns when far fewer rows were read than the CSV has lines: quoted fields that span
    /// lines are legal, but many of them usually mean a stray quote ate part of the file.
    fn check_line_count(&mut self) {
        let Some(lines) = self.audience_lines() else {
            return;
        };
        let AudienceKind::Csv { path } = &self.plan.audience.kind else {
            return;
        };
        // The header is a line but not a row.
        let lines = lines.saturating_sub(1);
        let rows = self.plan.audience.rows;
        if lines > rows + 10 && rows.saturating_mul(10) < lines.saturating_mul(9) {
            self.plan.warnings.push(format!(
                "{} has {lines} lines after its header but {rows} rows were read: quoted fields \
                 span {} lines; check the file for a quote that is not closed where it should be",
                path.display(),
                lines - rows
            ));
        }
    }
}
