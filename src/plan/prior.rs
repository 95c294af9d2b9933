//! What the journal already says about a recipient, as the planner weighs it: the content
//! last sent, its state, and whether a failure may be retried.

use crate::im::ErrorClass;
use crate::im::types::Endpoint;
use crate::journal::{SendRecord, SendState};

/// What the journal says about one recipient.
pub(super) struct Prior {
    pub(super) content_hash: String,
    pub(super) state: SendState,
    pub(super) error: Option<String>,
    pub(super) retryable: bool,
    /// The code of a failure timcast has no class for: resent only with `--retry-unknown`.
    pub(super) unknown_code: Option<i64>,
    pub(super) endpoint: Endpoint,
    pub(super) intent_at_ms: i64,
}

pub(super) fn prior_of(record: SendRecord) -> (String, Prior) {
    let failed = record.state == SendState::Failed;
    let retryable = failed && record.error_class.is_some_and(|c| c.is_retryable());
    let unknown_code = if failed && record.error_class == Some(ErrorClass::Unknown) {
        record.error_code
    } else {
        None
    };
    let error = record.error_code.map(|code| {
        format!("{code} {}", record.error_text.clone().unwrap_or_default())
            .trim()
            .to_owned()
    });
    (
        record.recipient,
        Prior {
            content_hash: record.content_hash,
            state: record.state,
            error,
            retryable,
            unknown_code,
            endpoint: record.endpoint,
            intent_at_ms: record.intent_at_ms,
        },
    )
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
        let (who, prior) = prior_of(busy);
        assert_eq!(who, "u1");
        assert!(prior.retryable);
        assert_eq!(prior.error.as_deref(), Some("10002 internal error"));
        let mut blocked = test_record("u2", SendState::Failed);
        blocked.error_class = Some(ErrorClass::PermanentRecipient);
        assert!(!prior_of(blocked).1.retryable);
        let mut sent = test_record("u3", SendState::Sent);
        sent.error_class = Some(ErrorClass::Retry);
        assert!(!prior_of(sent).1.retryable);
    }
}
