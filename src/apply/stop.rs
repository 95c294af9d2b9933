//! The stop shared by everything in a run: Ctrl-C, SIGTERM, or a fatal error that would fail
//! every send. A tokio-util `CancellationToken`, plus the first fatal reason.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// A stop request; clones share it. A [`Stop::child`] is stopped with its parent, but a
/// fatal error of its own stops only it, unless the error concerns the whole app.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    token: CancellationToken,
    fatal: Arc<Mutex<Option<String>>>,
    parent: Option<Box<Stop>>,
}

impl Stop {
    pub fn new() -> Self {
        Stop::default()
    }

    /// Stops starting new sends.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// A stop for one campaign of a run: stopped with this one.
    pub fn child(&self) -> Stop {
        Stop {
            token: self.token.child_token(),
            fatal: Arc::default(),
            parent: Some(Box::new(self.clone())),
        }
    }

    /// Stops this campaign because of a fatal error (the first reason wins).
    pub fn fatal(&self, reason: String) {
        if let Ok(mut slot) = self.fatal.lock()
            && slot.is_none()
        {
            *slot = Some(reason);
        }
        self.trigger();
    }

    /// Stops everything, parents included: the error would fail every campaign of the app
    /// (a bad key, region or admin).
    pub fn fatal_for_app(&self, reason: String) {
        if let Some(parent) = &self.parent {
            parent.fatal_for_app(reason.clone());
        }
        self.fatal(reason);
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

    #[test]
    fn a_campaign_error_stops_its_campaign_and_an_app_error_stops_the_run() {
        let run = Stop::new();
        let first = run.child();
        first.fatal("official account missing".into());
        assert!(first.is_stopped());
        assert!(!run.is_stopped(), "the next campaign still runs");
        let second = run.child();
        second.fatal_for_app("bad key".into());
        assert!(run.is_stopped());
        assert_eq!(run.fatal_reason().as_deref(), Some("bad key"));
        // A signal stops every campaign, and is no fatal error.
        let signalled = Stop::new();
        let campaign = signalled.child();
        signalled.trigger();
        assert!(campaign.is_stopped());
        assert_eq!(campaign.fatal_reason(), None);
    }
}
