//! What to do after a failed call: a pure decision from the error's class, the attempt and
//! the duplicate window, so every send target retries by the same rules (DESIGN.md, "Errors
//! the executor must tell apart").

use std::time::Duration;

use crate::im::{ClientError, ErrorClass};

/// The first retry delay of a call refused with a rate-limit code.
const RATE_LIMITED_BASE: Duration = Duration::from_millis(50);

/// How hard to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    pub(crate) max_attempts: u32,
    /// First retry delay; doubled per attempt, with jitter.
    pub(crate) base: Duration,
    /// Longest retry delay.
    pub(crate) cap: Duration,
}

/// The decision after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Next {
    /// Wait `delay` (slowing the limiter when `rate_limited`), then resend identically.
    Retry { delay: Duration, rate_limited: bool },
    /// Stop the whole run: the error would fail every send.
    StopRun,
    /// Final for this send: record the failure.
    Fail,
    /// The call may have taken effect and may not be resent safely: record it as uncertain.
    Uncertain,
    /// Retryable, but the attempts ran out.
    OutOfAttempts,
}

impl RetryPolicy {
    /// `attempt` is 1-based; `inside_window` says whether an identical resend would still be
    /// dropped by the server's duplicate window; `jitter` in [0, 1) spreads the retries.
    pub(crate) fn decide(
        &self,
        error: &ClientError,
        attempt: u32,
        inside_window: bool,
        jitter: f64,
    ) -> Next {
        let class = error.class();
        match class {
            ErrorClass::FatalRun => return Next::StopRun,
            // An unknown code is not retried blindly in the run; `--retry-unknown` resends later.
            ErrorClass::PermanentRecipient | ErrorClass::PermanentRequest | ErrorClass::Unknown => {
                return Next::Fail;
            }
            ErrorClass::Retry | ErrorClass::RateLimited | ErrorClass::RenewUserSig => {}
        }
        // Only an identical resend inside the server's duplicate window is safe.
        if error.is_uncertain() && !inside_window {
            return Next::Uncertain;
        }
        if attempt >= self.max_attempts {
            return Next::OutOfAttempts;
        }
        Next::Retry {
            delay: self.backoff(attempt, class, jitter),
            rate_limited: class == ErrorClass::RateLimited,
        }
    }

    /// Exponential backoff for attempt `n` (1-based), between half and all of the step.
    pub(crate) fn backoff(&self, attempt: u32, class: ErrorClass, jitter: f64) -> Duration {
        // A rate code is the pace's business (it pauses for the rest of the window and steps
        // down); the refused call itself only waits a moment, not half a second.
        let base = if class == ErrorClass::RateLimited {
            RATE_LIMITED_BASE
        } else {
            self.base
        };
        let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        exp.min(self.cap)
            .mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::im::Endpoint;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(200),
        cap: Duration::from_secs(10),
    };

    fn api(code: i64, class: ErrorClass) -> ClientError {
        ClientError::Api {
            endpoint: Endpoint::SendMsg,
            code,
            info: String::new(),
            class,
        }
    }

    fn lost() -> ClientError {
        ClientError::LostReply {
            endpoint: Endpoint::SendMsg,
            reason: "timeout".into(),
        }
    }

    #[test]
    fn permanent_and_fatal_errors_are_never_retried() {
        assert_eq!(
            POLICY.decide(&api(20007, ErrorClass::PermanentRecipient), 1, true, 0.0),
            Next::Fail
        );
        assert_eq!(
            POLICY.decide(&api(90001, ErrorClass::PermanentRequest), 1, true, 0.0),
            Next::Fail
        );
        assert_eq!(
            POLICY.decide(&api(70009, ErrorClass::FatalRun), 1, true, 0.0),
            Next::StopRun
        );
    }

    #[test]
    fn a_lost_reply_is_resent_only_inside_the_duplicate_window() {
        assert!(matches!(
            POLICY.decide(&lost(), 1, true, 0.0),
            Next::Retry { .. }
        ));
        assert_eq!(POLICY.decide(&lost(), 1, false, 0.0), Next::Uncertain);
    }

    #[test]
    fn transient_errors_back_off_until_the_attempts_run_out() {
        let busy = api(10002, ErrorClass::Retry);
        assert_eq!(
            POLICY.decide(&busy, 1, false, 0.0),
            Next::Retry {
                delay: Duration::from_millis(100),
                rate_limited: false
            }
        );
        assert_eq!(
            POLICY.decide(&busy, 2, false, 1.0),
            Next::Retry {
                delay: Duration::from_millis(400),
                rate_limited: false
            }
        );
        assert_eq!(POLICY.decide(&busy, 3, false, 0.0), Next::OutOfAttempts);
        let limited = POLICY.decide(&api(10023, ErrorClass::RateLimited), 1, false, 1.0);
        assert_eq!(
            limited,
            Next::Retry {
                delay: Duration::from_millis(50),
                rate_limited: true
            }
        );
    }

    #[test]
    fn the_backoff_never_exceeds_its_cap() {
        let d = POLICY.backoff(30, ErrorClass::Retry, 1.0);
        assert_eq!(d, Duration::from_secs(10));
    }
}
