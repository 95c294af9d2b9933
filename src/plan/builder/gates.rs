//! What a rendered recipient must pass besides its diff: the API's size limits, and (with
//! recipients' own windows) whether their window is open now.

use super::super::*;
use super::Builder;

impl Builder<'_> {
    /// With recipients' own windows, counts the sends inside theirs now, and keeps the latest
    /// opening of the others: the duration estimate includes that wait.
    pub(super) fn judge_window(&mut self, timezone: Option<&str>, pending: bool) {
        let (Some(schedule), Some(now)) = (&self.loaded.campaign.schedule, self.options.now) else {
            return;
        };
        let Some(window) = schedule
            .window
            .as_ref()
            .filter(|w| w.recipient_timezone_column.is_some())
        else {
            return;
        };
        if !pending {
            return;
        }
        let key = timezone.unwrap_or_default().to_owned();
        let gate = match self.window_gates.get(&key) {
            Some(gate) => gate.clone(),
            None => {
                let zone = crate::schedule::window_zone(window, timezone);
                let gate = crate::schedule::gate(Some(schedule), now, Some(&zone));
                self.window_gates.insert(key, gate.clone());
                gate
            }
        };
        let inside = self.plan.inside_window_now.get_or_insert(0);
        match gate {
            crate::schedule::Gate::Open { .. } => *inside += 1,
            crate::schedule::Gate::Wait { until, .. } => {
                self.latest_window_opening = self.latest_window_opening.max(Some(until));
            }
            crate::schedule::Gate::Closed { .. } => {}
        }
    }

    pub(super) fn check_limits(&mut self, facts: &ContentFacts) -> Option<String> {
        if facts.message_bytes > MAX_MESSAGE_BYTES {
            return Some(format!(
                "the message is {} bytes; the API takes at most {MAX_MESSAGE_BYTES} (12 KB): shorten the text or the custom data",
                facts.message_bytes
            ));
        }
        if facts.push_text_bytes > checks::MAX_PUSH_TEXT_BYTES {
            return Some(format!(
                "push desc + ext are {} bytes; keep them within {} (3 KB) for APNs",
                facts.push_text_bytes,
                checks::MAX_PUSH_TEXT_BYTES
            ));
        }
        if facts.message_bytes > OLD_MESSAGE_LIMIT_BYTES && !self.oversize_warned {
            self.oversize_warned = true;
            self.plan.warnings.push(format!(
                "some messages are over 8 KB ({} bytes): older API documents and SDKs give 8 KB as the limit",
                facts.message_bytes
            ));
        }
        None
    }
}
