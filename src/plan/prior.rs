//! What the journal already says about a recipient, as the planner weighs it: the content
//! last sent, its state, and whether a failure may be retried.

use super::request::{ContentHash, parse_hex};
use crate::im::ErrorClass;
use crate::im::types::Endpoint;
use crate::journal::{PlanRecord, SendState};

/// What the journal says about one recipient.
pub(super) struct Prior {
    /// The hash of the content last sent; `None` when the journal's text is no hash of ours.
    pub(super) content_hash: Option<ContentHash>,
    pub(super) state: SendState,
    pub(super) error: Option<String>,
    pub(super) retryable: bool,
    /// The code of a failure timcast has no class for: resent only with `--retry-unknown`.
    pub(super) unknown_code: Option<i64>,
    pub(super) endpoint: Endpoint,
    pub(super) intent_at_ms: i64,
}

impl Prior {
    /// Whether the record settles its recipient whatever the message renders to now: nothing
    /// is sent and nothing is uncertain (sent, unless changed ones are resent; recalled;
    /// failed for good).
    pub(super) fn settles(&self, resend_changed: bool, retry_unknown: bool) -> bool {
        match self.state {
            SendState::Recalled => true,
            SendState::Sent => !resend_changed,
            SendState::Failed => {
                !(self.retryable || (self.unknown_code.is_some() && retry_unknown))
            }
            // The holdout and the cap are judged again on every plan.
            SendState::Intent | SendState::Uncertain | SendState::HeldOut | SendState::Capped => {
                false
            }
        }
    }
}

pub(super) fn prior_of(record: PlanRecord<'_>) -> Prior {
    let failed = record.state == SendState::Failed;
    let retryable = failed && record.error_class.is_some_and(|c| c.is_retryable());
    let unknown_code = if failed && record.error_class == Some(ErrorClass::Unknown) {
        record.error_code
    } else {
        None
    };
    let error = record.error_code.map(|code| {
        format!("{code} {}", record.error_text.unwrap_or_default())
            .trim()
            .to_owned()
    });
    Prior {
        content_hash: parse_hex(record.content_hash),
        state: record.state,
        error,
        retryable,
        unknown_code,
        endpoint: record.endpoint,
        intent_at_ms: record.intent_at_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::im::ErrorClass;
    use crate::journal::test_record;

    #[test]
    fn a_failure_is_retried_only_when_its_class_is_retryable() {
        let mut busy = test_record("u1", SendState::Failed);
        busy.error_class = Some(ErrorClass::Retry);
        busy.error_code = Some(10002);
        busy.error_text = Some("internal error".into());
        let prior = prior_of(busy.plan_view());
        assert!(prior.retryable);
        assert_eq!(prior.error.as_deref(), Some("10002 internal error"));
        let mut blocked = test_record("u2", SendState::Failed);
        blocked.error_class = Some(ErrorClass::PermanentRecipient);
        assert!(!prior_of(blocked.plan_view()).retryable);
        let mut sent = test_record("u3", SendState::Sent);
        sent.error_class = Some(ErrorClass::Retry);
        assert!(!prior_of(sent.plan_view()).retryable);
    }

    #[test]
    fn only_records_that_leave_nothing_to_send_whatever_the_message_settle_a_recipient() {
        let prior = |state: SendState, class: Option<ErrorClass>| {
            let mut record = test_record("u", state);
            record.error_class = class;
            record.error_code = class.map(|_| 99_999);
            prior_of(record.plan_view())
        };
        // (state, class, settles by default, with --resend-changed, with --retry-unknown)
        let cases = [
            (SendState::Sent, None, true, false, true),
            (SendState::Recalled, None, true, true, true),
            (SendState::Intent, None, false, false, false),
            (SendState::Uncertain, None, false, false, false),
            (
                SendState::Failed,
                Some(ErrorClass::PermanentRecipient),
                true,
                true,
                true,
            ),
            (
                SendState::Failed,
                Some(ErrorClass::Retry),
                false,
                false,
                false,
            ),
            (
                SendState::Failed,
                Some(ErrorClass::Unknown),
                true,
                true,
                false,
            ),
        ];
        for (state, class, plain, changed, unknown) in cases {
            let p = prior(state, class);
            assert_eq!(p.settles(false, false), plain, "{state:?} {class:?}");
            assert_eq!(
                p.settles(true, false),
                changed,
                "{state:?} {class:?} --resend-changed"
            );
            assert_eq!(
                p.settles(false, true),
                unknown,
                "{state:?} {class:?} --retry-unknown"
            );
        }
    }
}
