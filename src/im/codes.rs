//! Every documented error code with its class: what the executor does when it sees the code.
//!
//! One table (API.md §4 plus the seeds), looked up by [`classify`]. HTTP-level failures are
//! classified by the client error itself ([`crate::im::ClientError::class`]). A batch reply's
//! `ErrorList` is split per recipient by [`batch_outcomes`].

use serde::{Deserialize, Serialize};

use super::types::BatchSendMsgResponse;

/// What the executor does about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Transient: back off with jitter and resend the identical body, with a retry cap.
    Retry,
    /// Slow the limiter for that endpoint, then retry.
    RateLimited,
    /// Sign a fresh admin UserSig and retry once; a repeat is fatal for the run.
    RenewUserSig,
    /// Final for this recipient: record it, never retry, carry on.
    PermanentRecipient,
    /// A bug in the request the planner should have caught: record, report loudly, never retry.
    PermanentRequest,
    /// Stop the whole run: configuration, credentials, region, permissions or account state.
    FatalRun,
    /// A code the table does not know: recorded, not retried in the run, resent by a later
    /// run with `--retry-unknown`, and listed in the run's summary so the table can grow.
    Unknown,
}

/// Fatal codes that concern one campaign, not the app: an official account that does not
/// exist, a muted sender. A run of several campaigns stops only that one.
pub const CAMPAIGN_FATAL_CODES: &[i64] = &[10010, 10015, 10017, 20012];

impl ErrorClass {
    /// Every class, in the order of the enum.
    pub const ALL: [ErrorClass; 7] = [
        ErrorClass::Retry,
        ErrorClass::RateLimited,
        ErrorClass::RenewUserSig,
        ErrorClass::PermanentRecipient,
        ErrorClass::PermanentRequest,
        ErrorClass::FatalRun,
        ErrorClass::Unknown,
    ];

    /// Whether resending the same request may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::Retry | ErrorClass::RateLimited | ErrorClass::RenewUserSig
        )
    }
}

impl ErrorClass {
    /// The one spelling of a class: in the journal, reports, plans and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Retry => "retry",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::RenewUserSig => "renew_usersig",
            ErrorClass::PermanentRecipient => "permanent_recipient",
            ErrorClass::PermanentRequest => "permanent_request",
            ErrorClass::FatalRun => "fatal_run",
            ErrorClass::Unknown => "unknown",
        }
    }

    /// Reads [`ErrorClass::as_str`]; also the kebab-case spelling older builds printed.
    pub fn parse(text: &str) -> Option<ErrorClass> {
        let text = text.replace('-', "_");
        ErrorClass::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

use ErrorClass::{
    FatalRun, PermanentRecipient, PermanentRequest, RateLimited, RenewUserSig, Retry, Unknown,
};

/// `(code, class, meaning)` for every documented code, sorted by code.
#[rustfmt::skip]
pub const ERROR_CODES: &[(i64, ErrorClass, &str)] = &[
    (10002, Retry, "internal error, retry"),
    (10004, PermanentRequest, "invalid parameters"),
    (10005, PermanentRequest, "too many accounts in the request"),
    (10006, RateLimited, "operation frequency limit"),
    (10007, FatalRun, "insufficient permission"),
    (10008, FatalRun, "invalid request (needs admin, or robot cap reached)"),
    (10010, FatalRun, "official account missing or dissolved"),
    (10015, FatalRun, "official account UserID invalid"),
    (10016, PermanentRecipient, "refused by the app's third-party callback"),
    (10017, FatalRun, "sender is muted"),
    (10023, RateLimited, "sending too often; widen the gap between messages"),
    (20001, PermanentRequest, "request packet invalid (check that sender and receiver exist)"),
    (20002, RenewUserSig, "UserSig or A2 invalid"),
    (20003, PermanentRecipient, "sender or recipient UserID invalid or not imported"),
    (20004, Retry, "network error, retry"),
    (20005, Retry, "internal server error, retry"),
    (20006, PermanentRecipient, "the before-send callback refused the message"),
    (20007, PermanentRecipient, "the recipient blocklisted the sender"),
    (20009, PermanentRecipient, "friend-relationship check failed"),
    (20010, PermanentRecipient, "friend-relationship check failed"),
    (20011, PermanentRecipient, "friend-relationship check failed"),
    (20012, FatalRun, "sender muted"),
    (20022, PermanentRecipient, "the message to recall does not exist"),
    (20023, PermanentRecipient, "already recalled"),
    (60002, FatalRun, "HTTP parse error (check the URL)"),
    (60003, FatalRun, "request JSON parse error"),
    (60004, FatalRun, "bad identifier in the URL"),
    (60005, FatalRun, "bad UserSig in the URL"),
    (60006, FatalRun, "SDKAppID invalid"),
    (60007, RateLimited, "REST call rate over limit"),
    (60008, Retry, "service timeout or malformed HTTP"),
    (60009, FatalRun, "wrong resource (URL path)"),
    (60010, FatalRun, "identifier is not an App admin"),
    (60011, RateLimited, "SDKAppID request rate over limit"),
    (60012, FatalRun, "sdkappid missing"),
    (60013, Retry, "response JSON parse error"),
    (60014, Retry, "account exchange timeout"),
    (60015, FatalRun, "identifier not a string"),
    (60016, FatalRun, "SDKAppID switched off"),
    (60017, FatalRun, "SDKAppID requests blocked"),
    (60018, RateLimited, "requests too frequent, retry later"),
    (60019, RateLimited, "requests too frequent, retry later"),
    (60020, FatalRun, "package expired or not yet active"),
    (60021, FatalRun, "caller IP not allowed"),
    (70001, RenewUserSig, "UserSig expired"),
    (70002, FatalRun, "UserSig empty"),
    (70003, FatalRun, "UserSig unparsable (maybe truncated)"),
    (70005, FatalRun, "UserSig check failed"),
    (70009, FatalRun, "the signing key is not this SDKAppID's"),
    (70013, FatalRun, "URL identifier differs from the UserSig's"),
    (70014, FatalRun, "URL SDKAppID differs from the UserSig's"),
    (70016, FatalRun, "key not found: SDKAppID and data centre differ (wrong region)"),
    (70020, FatalRun, "SDKAppID not found: SDKAppID and data centre differ (wrong region)"),
    (70050, FatalRun, "too many failed UserSig checks; wait at least 60 s"),
    (70051, PermanentRecipient, "account blocklisted"),
    (70052, RenewUserSig, "UserSig invalidated, sign a new one"),
    (70107, PermanentRecipient, "account not imported"),
    (70114, PermanentRecipient, "blocked by a security restriction"),
    (70169, Retry, "internal timeout, retry"),
    (70206, PermanentRequest, "invalid batch count"),
    (70398, FatalRun, "account count over the free-tier cap"),
    (70402, PermanentRequest, "invalid parameters"),
    (70403, FatalRun, "admin permission required"),
    (70500, Retry, "internal error, retry"),
    (80001, PermanentRecipient, "content flagged by the sensitive-word filter"),
    (80002, PermanentRequest, "message body too long"),
    (90001, PermanentRequest, "body JSON could not be parsed"),
    (90002, PermanentRequest, "MsgBody not per the TIMMsgElement spec"),
    (90003, PermanentRequest, "To_Account missing or not a String"),
    (90005, PermanentRequest, "MsgRandom missing or not an Integer"),
    (90006, PermanentRequest, "MsgTimeStamp not an Integer"),
    (90007, PermanentRequest, "MsgBody not an Array"),
    (90008, PermanentRequest, "From_Account missing or unknown"),
    (90009, FatalRun, "App admin permission required"),
    (90010, PermanentRequest, "body not per the message spec"),
    (90011, PermanentRequest, "more than 500 batch recipients"),
    (90012, PermanentRecipient, "To_Account not registered or misspelt"),
    (90026, PermanentRequest, "MsgLifeTime over 7 days"),
    (90031, PermanentRequest, "SyncOtherMachine not an Integer"),
    (90044, PermanentRequest, "MsgLifeTime not an Integer"),
    (90048, PermanentRecipient, "account does not exist"),
    (90054, PermanentRequest, "invalid MsgKey"),
    (90992, Retry, "internal error, retry (check the app's callback server if it persists)"),
    (90994, Retry, "internal error, retry"),
    (90995, Retry, "internal error, retry"),
    (91000, Retry, "internal error, retry"),
    (93000, PermanentRequest, "JSON packet too long"),
];

/// The class of a non-zero `ErrorCode`. A code that is neither in the table nor in a documented
/// range is [`ErrorClass::Unknown`]: calling it permanent would never retry a recipient for a
/// code that may mean "busy".
pub fn classify(code: i64) -> ErrorClass {
    if let Some((_, class, _)) = lookup(code) {
        return class;
    }
    match code {
        // Custom codes returned by the app's C2C callback.
        120_001..=130_000 => PermanentRecipient,
        // Public ranges the design calls fatal (credentials, app state) apart from the listed ones.
        60_002..=60_021 | 70_002..=70_020 => FatalRun,
        _ => Unknown,
    }
}

/// The documented meaning of `code`, when it is in the table.
pub fn describe(code: i64) -> Option<&'static str> {
    lookup(code).map(|(_, _, text)| text)
}

/// Whether `code` is documented.
pub fn is_known(code: i64) -> bool {
    lookup(code).is_some() || (120_001..=130_000).contains(&code)
}

fn lookup(code: i64) -> Option<(i64, ErrorClass, &'static str)> {
    ERROR_CODES
        .binary_search_by_key(&code, |(c, _, _)| *c)
        .ok()
        .and_then(|i| ERROR_CODES.get(i).copied())
}

/// What happened to one recipient of a batch call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientOutcome {
    /// Delivered; the batch's one `MsgKey` identifies it (with the recipient) for recall.
    Sent { msg_key: Option<String> },
    /// Listed in `ErrorList`.
    Failed { code: i64, class: ErrorClass },
}

/// Splits a successful batch reply into one outcome per requested recipient, in request order.
///
/// A recipient listed in `ErrorList` failed with its code; every other one was sent. (A reply
/// with a non-zero top-level `ErrorCode` never gets here: the client returns it as an error for
/// the whole call.)
pub fn batch_outcomes(
    recipients: &[String],
    reply: &BatchSendMsgResponse,
) -> Vec<(String, RecipientOutcome)> {
    let failed: std::collections::HashMap<&str, i64> = reply
        .error_list
        .iter()
        .map(|item| (item.to_account.as_str(), item.error_code))
        .collect();
    recipients
        .iter()
        .map(|to| {
            let outcome = match failed.get(to.as_str()) {
                Some(&code) if code != 0 => RecipientOutcome::Failed {
                    code,
                    class: classify(code),
                },
                _ => RecipientOutcome::Sent {
                    msg_key: reply.msg_key.clone(),
                },
            };
            (to.clone(), outcome)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::ErrorClass;

    #[test]
    fn a_class_has_one_spelling_that_reads_back_and_older_spellings_still_read() {
        for class in ErrorClass::ALL {
            assert_eq!(ErrorClass::parse(class.as_str()), Some(class));
            assert_eq!(class.to_string(), class.as_str());
        }
        assert_eq!(ErrorClass::RateLimited.as_str(), "rate_limited");
        assert_eq!(
            ErrorClass::parse("permanent-recipient"),
            Some(ErrorClass::PermanentRecipient)
        );
        assert_eq!(ErrorClass::parse("sometimes"), None);
    }

    use super::*;

    #[test]
    fn the_table_is_sorted_and_has_no_duplicates() {
        for pair in ERROR_CODES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
    }

    #[test]
    fn design_classes_hold() {
        for code in [
            10002, 20004, 20005, 60008, 70169, 70500, 90992, 90994, 90995, 91000,
        ] {
            assert_eq!(classify(code), Retry, "{code}");
        }
        for code in [10006, 10023, 60007, 60011, 60018, 60019] {
            assert_eq!(classify(code), RateLimited, "{code}");
        }
        for code in [70001, 70052] {
            assert_eq!(classify(code), RenewUserSig, "{code}");
        }
        for code in [20003, 70107, 90012, 90048, 20006, 20007, 80001, 125_000] {
            assert_eq!(classify(code), PermanentRecipient, "{code}");
        }
        for code in [90001, 90002, 90011, 90026, 93000, 80002] {
            assert_eq!(classify(code), PermanentRequest, "{code}");
        }
        for code in [
            60002, 60010, 60021, 70003, 70013, 70020, 70050, 70398, 70403, 90009, 20012, 10017,
            60016,
        ] {
            assert_eq!(classify(code), FatalRun, "{code}");
        }
        // Undocumented inside the fatal ranges, and unknown elsewhere.
        assert_eq!(classify(70004), FatalRun);
        assert_eq!(classify(42), Unknown);
        assert_eq!(classify(-1), Unknown);
        assert!(!is_known(42));
        assert_eq!(describe(70001), Some("UserSig expired"));
    }

    #[test]
    fn batch_outcomes_split_error_list_per_recipient() {
        let reply = BatchSendMsgResponse {
            msg_key: Some("1_2_3".into()),
            error_list: vec![super::super::types::BatchErrorItem {
                to_account: "rong".into(),
                error_code: 70107,
            }],
            ..Default::default()
        };
        let to = vec!["ann".to_string(), "rong".to_string()];
        let outcomes = batch_outcomes(&to, &reply);
        assert_eq!(
            outcomes,
            vec![
                (
                    "ann".into(),
                    RecipientOutcome::Sent {
                        msg_key: Some("1_2_3".into())
                    }
                ),
                (
                    "rong".into(),
                    RecipientOutcome::Failed {
                        code: 70107,
                        class: PermanentRecipient
                    }
                ),
            ]
        );
    }
}
