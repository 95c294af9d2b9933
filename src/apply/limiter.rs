//! Client-side rate limits: one GCRA limiter per API at `delivery.rate` with a burst of one,
//! the batch endpoint's per-recipient quota, the official account's 1 message/s, and a gate
//! that pauses every send when the server says "too fast".
//!
//! A burst of one matters: a server that counts calls per second rejects a burst of `rate`
//! calls after an idle moment, so calls are spaced evenly instead.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::Stop;
use crate::im::types::{Endpoint, MAX_BATCH_RECIPIENTS};

/// Why the run is waiting, shown by the progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Waiting {
    Nothing = 0,
    /// The server answered with a rate-limit code; every send pauses.
    ServerAskedToSlowDown = 1,
    /// `recipients_per_minute` of the batch endpoint is used up.
    RecipientsPerMinute = 2,
    /// An official account takes one message a second.
    OfficialAccount = 3,
}

impl Waiting {
    fn from_u8(v: u8) -> Waiting {
        match v {
            1 => Waiting::ServerAskedToSlowDown,
            2 => Waiting::RecipientsPerMinute,
            3 => Waiting::OfficialAccount,
            _ => Waiting::Nothing,
        }
    }

    /// What the progress line says.
    pub fn label(self) -> Option<&'static str> {
        match self {
            Waiting::Nothing => None,
            Waiting::ServerAskedToSlowDown => Some("waiting: the server asked to slow down"),
            Waiting::RecipientsPerMinute => Some("waiting: batch recipients-per-minute limit"),
            Waiting::OfficialAccount => Some("waiting: official account limit (1 message/s)"),
        }
    }
}

/// The limits of one run, shared by the dispatcher and every send task.
#[derive(Debug)]
pub struct Limits {
    calls: HashMap<Endpoint, Arc<DefaultDirectRateLimiter>>,
    batch_recipients: DefaultDirectRateLimiter,
    official: DefaultDirectRateLimiter,
    /// Unix ms before which no call starts (the server said "too fast").
    paused_until_ms: AtomicI64,
    waiting: AtomicU8,
}

fn per_second(rate: f64) -> Quota {
    let rate = if rate.is_finite() && rate > 0.0 {
        rate
    } else {
        1.0
    };
    let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN)
}

impl Limits {
    /// Limits at `rate` calls/s per API and `recipients_per_minute` batch recipients.
    pub fn new(rate: f64, recipients_per_minute: u32) -> Arc<Limits> {
        let calls = [
            Endpoint::SendMsg,
            Endpoint::BatchSendMsg,
            Endpoint::SendOfficialAccountMsg,
            Endpoint::SendStreamMsg,
            Endpoint::AdminMsgWithdraw,
            Endpoint::OfficialAccountMsgRecall,
        ]
        .into_iter()
        .map(|e| (e, Arc::new(RateLimiter::direct(per_second(rate)))))
        .collect();
        let per_minute = NonZeroU32::new(recipients_per_minute).unwrap_or(NonZeroU32::MIN);
        // One full batch must fit in the bucket, or a 500-recipient call could never start.
        let burst = NonZeroU32::new(
            u32::try_from(MAX_BATCH_RECIPIENTS)
                .unwrap_or(500)
                .min(per_minute.get()),
        )
        .unwrap_or(NonZeroU32::MIN);
        Arc::new(Limits {
            calls,
            batch_recipients: RateLimiter::direct(Quota::per_minute(per_minute).allow_burst(burst)),
            official: RateLimiter::direct(per_second(1.0)),
            paused_until_ms: AtomicI64::new(0),
            waiting: AtomicU8::new(0),
        })
    }

    /// What the run is waiting for now.
    pub fn waiting(&self) -> Waiting {
        Waiting::from_u8(self.waiting.load(Ordering::Relaxed))
    }

    fn set_waiting(&self, w: Waiting) {
        self.waiting.store(w as u8, Ordering::Relaxed);
    }

    /// Pauses every send for `by` (the server answered with a rate-limit code).
    pub fn pause(&self, by: Duration) {
        let until =
            super::now_ms().saturating_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 2));
        self.paused_until_ms.fetch_max(until, Ordering::Relaxed);
    }

    /// Waits until a call to `endpoint` carrying `recipients` may start. False when the run
    /// was stopped meanwhile.
    pub async fn acquire(&self, endpoint: Endpoint, recipients: u32, stop: &Stop) -> bool {
        loop {
            let until = self.paused_until_ms.load(Ordering::Relaxed);
            let now = super::now_ms();
            if until <= now {
                break;
            }
            self.set_waiting(Waiting::ServerAskedToSlowDown);
            if !stop
                .sleep(Duration::from_millis(
                    u64::try_from(until - now).unwrap_or(0),
                ))
                .await
            {
                return false;
            }
        }
        if endpoint == Endpoint::BatchSendMsg {
            let n = NonZeroU32::new(recipients.max(1)).unwrap_or(NonZeroU32::MIN);
            if !matches!(self.batch_recipients.check_n(n), Ok(Ok(()))) {
                self.set_waiting(Waiting::RecipientsPerMinute);
                tokio::select! {
                    r = self.batch_recipients.until_n_ready(n) => { let _ = r; }
                    _ = stop.stopped() => return false,
                }
            }
        }
        if endpoint == Endpoint::SendOfficialAccountMsg && self.official.check().is_err() {
            self.set_waiting(Waiting::OfficialAccount);
            tokio::select! {
                _ = self.official.until_ready() => {}
                _ = stop.stopped() => return false,
            }
        }
        self.set_waiting(Waiting::Nothing);
        if let Some(limiter) = self.calls.get(&endpoint) {
            loop {
                let wait = match limiter.check() {
                    Ok(()) => return true,
                    Err(not_until) => not_until.wait_time_from(limiter.clock().now()),
                };
                if wait > COARSE_SLEEP_ABOVE {
                    if !stop.sleep(wait - COARSE_SLEEP_ABOVE / 2).await {
                        return false;
                    }
                    continue;
                }
                // The last stretch is waited precisely on a blocking thread: with a burst of
                // one, every late wake-up is lost for good, and the async timer's millisecond
                // ticks would cost several percent of the rate.
                let limiter = limiter.clone();
                if tokio::task::spawn_blocking(move || precise_wait(&limiter))
                    .await
                    .is_err()
                {
                    return false;
                }
                return true;
            }
        }
        true
    }
}

/// Waits longer than this sleep on the async timer first (it wakes up to a few ms late).
const COARSE_SLEEP_ABOVE: Duration = Duration::from_millis(20);

/// Takes a cell of `limiter` as soon as one is free: sleeps, then spins the last stretch.
fn precise_wait(limiter: &DefaultDirectRateLimiter) {
    loop {
        let wait = match limiter.check() {
            Ok(()) => return,
            Err(not_until) => not_until.wait_time_from(limiter.clock().now()),
        };
        if wait > Duration::from_micros(300) {
            std::thread::sleep(wait - Duration::from_micros(200));
        } else {
            std::thread::yield_now();
        }
    }
}
