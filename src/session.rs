//! The session pipeline every sending path runs — `apply`, `run --due`, saved plans and the
//! benches: load → lock → plan → execute (journaling as it goes) → summary.
//!
//! What differs between the commands (confirmation, schedule notes, how a result is printed)
//! stays in the commands; the order of the steps and what each guards lives only here.

use std::path::Path;
use std::sync::Arc;

use crate::apply::progress::Counters;
use crate::apply::{self, ApplyError, ApplyOptions, RunSummary, Stop};
use crate::campaign::LoadedCampaign;
use crate::im::ImClient;
use crate::journal::CampaignLock;
use crate::plan::{self, Plan};

/// A campaign locked in its journal and planned, ready to execute.
#[derive(Debug)]
pub(crate) struct Session {
    pub loaded: Arc<LoadedCampaign>,
    pub options: ApplyOptions,
    pub plan: Plan,
    /// Sends of an interrupted run that will be resent inside the duplicate window.
    pub resendable_in_window: u64,
    // Held until the session ends: no second apply of the campaign meanwhile.
    _lock: CampaignLock,
}

impl Session {
    /// Takes the campaign's lock, then plans under it (another run may have written the
    /// journal until the lock was ours).
    pub(crate) fn open(
        loaded: Arc<LoadedCampaign>,
        options: ApplyOptions,
    ) -> Result<Session, ApplyError> {
        let lock = options.state.open()?.lock(&loaded.campaign.name)?;
        let plan = plan::build(&loaded, &options.plan_options(&loaded))?;
        let resendable_in_window = apply::count_resendable_in_window(&loaded, &options)?;
        Ok(Session {
            loaded,
            options,
            plan,
            resendable_in_window,
            _lock: lock,
        })
    }

    /// Validates the campaign file and opens a session on it (the library's one-call path).
    pub(crate) fn open_file(path: &Path, options: ApplyOptions) -> Result<Session, ApplyError> {
        let loaded = crate::campaign::validate(path)
            .into_result()
            .map_err(|v| ApplyError::Invalid(v.render()))?;
        Session::open(Arc::new(loaded), options)
    }

    /// Whether there is anything to send (a canary's limit counts).
    pub(crate) fn to_send(&self) -> u64 {
        self.options
            .limit
            .map_or(self.plan.pending, |l| l.min(self.plan.pending))
    }

    pub(crate) fn has_work(&self) -> bool {
        self.to_send() > 0 || self.resendable_in_window > 0
    }

    /// Sends the plan; the lock is released when this returns.
    pub(crate) async fn execute(
        self,
        client: ImClient,
        stop: Stop,
        counters: Arc<Counters>,
    ) -> Result<RunSummary, ApplyError> {
        apply::execute(
            self.loaded.clone(),
            &self.plan,
            &self.options,
            client,
            stop,
            counters,
        )
        .await
    }
}
