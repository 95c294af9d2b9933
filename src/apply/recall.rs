//! `timcast recall`: withdraws what the journal says a campaign sent — `admin_msgwithdraw` per
//! recipient (a batch's one MsgKey with each of its recipients), `official_account_msg_recall`
//! for an official account — and records each withdrawal as `recalled`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::journal_writer::JournalWriter;
use super::limiter::Limits;
use super::{Stop, now_ms};
use crate::campaign::LoadedCampaign;
use crate::im::types::{Endpoint, MsgWithdrawRequest, OfficialAccountMsgRecallRequest};
use crate::im::{ClientError, ErrorClass, ImClient};
use crate::journal::{JournalError, JournalStore, SendRecord, SendState, State};

/// "Already recalled": the withdrawal is done.
const ALREADY_RECALLED: i64 = 20023;

/// How a recall ended.
#[derive(Debug, Clone, Default)]
pub struct RecallSummary {
    pub recalled: u64,
    pub failed: u64,
    /// (recipient, why) of failed withdrawals.
    pub failures: Vec<(String, String)>,
    pub fatal: Option<String>,
}

/// The sends of `campaign` that can be withdrawn: sent, with a MsgKey.
pub fn targets(
    journal: &dyn JournalStore,
    campaign: &str,
) -> Result<Vec<SendRecord>, JournalError> {
    let mut out = Vec::new();
    journal.for_each_record(campaign, &mut |r| {
        if r.state == SendState::Sent && r.msg_key.is_some() {
            out.push(r);
        }
    })?;
    Ok(out)
}

enum Withdrawal {
    Done,
    Failed(String),
    Fatal(String),
}

async fn withdraw_one(
    client: &ImClient,
    record: &SendRecord,
    from: &str,
    limits: &Limits,
    stop: &Stop,
    max_attempts: u32,
) -> Withdrawal {
    let Some(msg_key) = record.msg_key.clone() else {
        return Withdrawal::Failed("no MsgKey in the journal".into());
    };
    let official = record.endpoint == Endpoint::SendOfficialAccountMsg;
    let endpoint = if official {
        Endpoint::OfficialAccountMsgRecall
    } else {
        Endpoint::AdminMsgWithdraw
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        if !limits.acquire(endpoint, 1, stop).await {
            return Withdrawal::Failed("not attempted: the recall stopped".into());
        }
        let result: Result<(), ClientError> = if official {
            client
                .official_account_msg_recall(&OfficialAccountMsgRecallRequest {
                    official_account: record.recipient.clone(),
                    msg_key_list: vec![msg_key.clone()],
                })
                .await
                .map(drop)
        } else {
            client
                .admin_msg_withdraw(&MsgWithdrawRequest {
                    from_account: from.to_owned(),
                    to_account: record.recipient.clone(),
                    msg_key: msg_key.clone(),
                })
                .await
                .map(drop)
        };
        let err = match result {
            Ok(()) => return Withdrawal::Done,
            Err(e) if e.code() == Some(ALREADY_RECALLED) => return Withdrawal::Done,
            Err(e) => e,
        };
        match err.class() {
            ErrorClass::FatalRun => return Withdrawal::Fatal(err.to_string()),
            // A withdrawal is idempotent (a repeat answers 20023), so any retryable error,
            // a lost reply included, is simply retried.
            class if class.is_retryable() && attempt < max_attempts => {
                let delay = Duration::from_millis(200 * (1 << attempt.min(6)));
                if class == ErrorClass::RateLimited {
                    limits.pause(delay);
                }
                if !stop.sleep(delay).await {
                    return Withdrawal::Failed(err.to_string());
                }
            }
            _ => return Withdrawal::Failed(err.to_string()),
        }
    }
}

/// Withdraws every target and records the withdrawals in the journal `state`.
/// Messages are withdrawn as the campaign's sender, or the admin when it has none.
pub async fn recall(
    loaded: &LoadedCampaign,
    state: &State,
    targets: Vec<SendRecord>,
    client: ImClient,
    admin: &str,
) -> Result<RecallSummary, super::ApplyError> {
    let campaign = &loaded.campaign;
    let from = campaign.sender.clone().unwrap_or_else(|| admin.to_owned());
    let limits = Limits::new(
        campaign.delivery.rate,
        campaign.delivery.recipients_per_minute,
    );
    let stop = Stop::new();
    let writer = JournalWriter::start(state.open()?);
    let semaphore = Arc::new(Semaphore::new(
        usize::try_from(campaign.delivery.concurrency.max(1)).unwrap_or(1),
    ));
    let max_attempts = campaign.delivery.max_attempts.max(1);
    let mut tasks = JoinSet::new();
    for record in targets {
        let Ok(permit) = semaphore.clone().acquire_owned().await else {
            break;
        };
        if stop.is_stopped() {
            break;
        }
        let (client, limits, stop, writer, from) = (
            client.clone(),
            limits.clone(),
            stop.clone(),
            writer.clone(),
            from.clone(),
        );
        tasks.spawn(async move {
            let _permit = permit;
            let outcome = withdraw_one(&client, &record, &from, &limits, &stop, max_attempts).await;
            if let Withdrawal::Done = outcome {
                let mut done = record.clone();
                done.state = SendState::Recalled;
                done.updated_at_ms = now_ms();
                writer.write(vec![done]);
            }
            if let Withdrawal::Fatal(reason) = &outcome {
                stop.fatal(reason.clone());
            }
            (record.recipient, outcome)
        });
    }
    let mut summary = RecallSummary::default();
    while let Some(joined) = tasks.join_next().await {
        let Ok((recipient, outcome)) = joined else {
            continue;
        };
        match outcome {
            Withdrawal::Done => summary.recalled += 1,
            Withdrawal::Failed(why) | Withdrawal::Fatal(why) => {
                summary.failed += 1;
                summary.failures.push((recipient, why));
            }
        }
    }
    summary.fatal = stop.fatal_reason();
    writer
        .close()
        .await
        .map_err(super::ApplyError::JournalWriter)?;
    summary.failures.sort();
    Ok(summary)
}
