//! The stop shared by everything in a run: Ctrl-C, SIGTERM, or a fatal error that would fail
//! every send. A tokio-util `CancellationToken`, plus the first fatal reason.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// A stop request; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    token: CancellationToken,
    fatal: Arc<Mutex<Option<String>>>,
}

impl Stop {
    pub fn new() -> Self {
        Stop::default()
    }

    /// Stops starting new sends.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Stops the run because of a fatal error (the first reason wins).
    pub fn fatal(&self, reason: String) {
        if let Ok(mut slot) = self.fatal.lock()
            && slot.is_none()
        {
            *slot = Some(reason);
        }
        self.trigger();
    }

    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The fatal error that stopped the run, if one did.
    pub fn fatal_reason(&self) -> Option<String> {
        self.fatal.lock().ok().and_then(|slot| slot.clone())
    }

    /// Resolves once the run is stopped.
    pub async fn stopped(&self) {
        self.token.cancelled().await;
    }

    /// Sleeps for `by`; false when the run was stopped first.
    pub async fn sleep(&self, by: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(by) => !self.is_stopped(),
            _ = self.stopped() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stop_wakes_sleepers_at_once() {
        let stop = Stop::new();
        let sleeper = {
            let stop = stop.clone();
            tokio::spawn(async move { stop.sleep(Duration::from_secs(60)).await })
        };
        stop.fatal("bad key".into());
        stop.fatal("second reason".into());
        let finished = tokio::time::timeout(Duration::from_secs(5), sleeper).await;
        assert!(matches!(finished, Ok(Ok(false))));
        assert_eq!(stop.fatal_reason().as_deref(), Some("bad key"));
    }
}
