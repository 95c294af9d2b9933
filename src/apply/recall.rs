//! `timcast recall`: withdraws what the journal says a campaign sent — `admin_msgwithdraw` per
//! recipient (a batch's one MsgKey with each of its recipients), `official_account_msg_recall`
//! for an official account, up to 10 MsgKeys a call — and records each withdrawal as
//! `recalled`.
//!
//! `official_account_msg_recall` answers `ErrorCode` 0 once it has processed the call; whether
//! each message was withdrawn is its `RetCode` in `RecallRetList`. Only a key whose RetCode
//! says so is recorded as recalled; any other stays `sent` (a later recall tries it again) and
//! is reported with its code.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::journal_writer::JournalWriter;
use super::limiter::Limits;
use super::{Stop, now_ms};
use crate::campaign::LoadedCampaign;
use crate::im::types::{
    Endpoint, MAX_RECALL_MSG_KEYS, MsgWithdrawRequest, OfficialAccountMsgRecallRequest,
};
use crate::im::{ClientError, ErrorClass, ImClient, classify, describe};
use crate::journal::{JournalError, JournalStore, SendRecord, SendState, State};

/// "Already recalled": the withdrawal is done.
const ALREADY_RECALLED: i64 = 20023;

/// How to recall.
#[derive(Debug, Clone, Default)]
pub struct RecallOptions {
    /// `Reason` of `official_account_msg_recall` (admin_msgwithdraw has none).
    pub reason: Option<String>,
    /// Counters a progress display reads: `sent` counts withdrawals done.
    pub progress: Option<Arc<super::progress::Counters>>,
}

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

/// The pause before retry `attempt` (1-based) of a withdrawal.
fn retry_delay(attempt: u32) -> Duration {
    Duration::from_millis(200 * (1 << attempt.min(6)))
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
    let endpoint = Endpoint::AdminMsgWithdraw;
    let mut attempt = 0;
    loop {
        attempt += 1;
        if !limits.acquire(endpoint, 1, stop).await {
            return Withdrawal::Failed("not attempted: the recall stopped".into());
        }
        let result: Result<(), ClientError> = client
            .admin_msg_withdraw(&MsgWithdrawRequest {
                from_account: from.to_owned(),
                to_account: record.recipient.clone(),
                msg_key: msg_key.clone(),
            })
            .await
            .map(drop);
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
                let delay = retry_delay(attempt);
                if class == ErrorClass::RateLimited {
                    limits.rate_limited(endpoint);
                }
                if !stop.sleep(delay).await {
                    return Withdrawal::Failed(err.to_string());
                }
            }
            _ => return Withdrawal::Failed(err.to_string()),
        }
    }
}

/// What a key's `RetCode` means for its withdrawal; `None` when it should be tried again.
fn ret_code_outcome(code: i64, may_retry: bool) -> Option<Withdrawal> {
    if code == 0 || code == ALREADY_RECALLED {
        return Some(Withdrawal::Done);
    }
    let class = classify(code);
    if class.is_retryable() && may_retry {
        return None;
    }
    let text = describe(code).unwrap_or("refused in the reply's RecallRetList");
    Some(Withdrawal::Failed(format!(
        "not recalled: RetCode {code} ({text})"
    )))
}

/// Withdraws up to [`MAX_RECALL_MSG_KEYS`] broadcasts of `account` in one call (retried for
/// the keys whose outcome is still open), and says what happened to each key.
async fn withdraw_official(
    client: &ImClient,
    account: &str,
    keys: Vec<String>,
    reason: Option<&str>,
    limits: &Limits,
    stop: &Stop,
    max_attempts: u32,
) -> Vec<(String, Withdrawal)> {
    let endpoint = Endpoint::OfficialAccountMsgRecall;
    let mut open = keys;
    let mut settled: Vec<(String, Withdrawal)> = Vec::new();
    let mut attempt = 0;
    // Every key still open ends the same way.
    let close_all = |open: &mut Vec<String>,
                     settled: &mut Vec<(String, Withdrawal)>,
                     outcome: &dyn Fn() -> Withdrawal| {
        settled.extend(open.drain(..).map(|k| (k, outcome())));
    };
    while !open.is_empty() {
        attempt += 1;
        if !limits.acquire(endpoint, 1, stop).await {
            close_all(&mut open, &mut settled, &|| {
                Withdrawal::Failed("not attempted: the recall stopped".into())
            });
            break;
        }
        let request = OfficialAccountMsgRecallRequest {
            official_account: account.to_owned(),
            msg_key_list: open.clone(),
            reason: reason.map(str::to_owned),
        };
        let may_retry = attempt < max_attempts;
        let err = match client.official_account_msg_recall(&request).await {
            Ok(reply) => {
                let Some(list) = reply.recall_ret_list.as_deref() else {
                    // ErrorCode 0 says only that the call was processed.
                    close_all(&mut open, &mut settled, &|| {
                        Withdrawal::Failed(
                            "not recorded as recalled: the reply has no RecallRetList, so whether \
                             the message was withdrawn is unknown"
                                .into(),
                        )
                    });
                    break;
                };
                let mut still_open = Vec::new();
                for key in open.drain(..) {
                    let code = list.iter().find(|r| r.msg_key == key).map(|r| r.ret_code);
                    match code {
                        Some(code) => match ret_code_outcome(code, may_retry) {
                            Some(outcome) => settled.push((key, outcome)),
                            None => still_open.push(key),
                        },
                        None => settled.push((
                            key,
                            Withdrawal::Failed(
                                "not recorded as recalled: the reply's RecallRetList does not \
                                 name this MsgKey"
                                    .into(),
                            ),
                        )),
                    }
                }
                open = still_open;
                // Keys still open had a transient RetCode; a stopped recall ends at the next
                // acquire, which settles them.
                if !open.is_empty() {
                    let _ = stop.sleep(retry_delay(attempt)).await;
                }
                continue;
            }
            Err(e) if e.code() == Some(ALREADY_RECALLED) => {
                close_all(&mut open, &mut settled, &|| Withdrawal::Done);
                break;
            }
            Err(e) => e,
        };
        match err.class() {
            ErrorClass::FatalRun => {
                let text = err.to_string();
                close_all(&mut open, &mut settled, &|| Withdrawal::Fatal(text.clone()));
            }
            // Recalling a recalled message is harmless, so a lost reply is retried too.
            class if class.is_retryable() && may_retry => {
                let delay = retry_delay(attempt);
                if class == ErrorClass::RateLimited {
                    limits.rate_limited(endpoint);
                }
                if !stop.sleep(delay).await {
                    let text = err.to_string();
                    close_all(&mut open, &mut settled, &|| {
                        Withdrawal::Failed(text.clone())
                    });
                }
            }
            _ => {
                let text = err.to_string();
                close_all(&mut open, &mut settled, &|| {
                    Withdrawal::Failed(text.clone())
                });
            }
        }
    }
    settled
}

/// A MsgKey and the journal records that carry it.
type KeyRecords = (String, Vec<SendRecord>);

/// The official-account targets in calls: per account, at most [`MAX_RECALL_MSG_KEYS`]
/// distinct MsgKeys a call, each key with the records that carry it.
fn official_calls(records: Vec<SendRecord>) -> Vec<(String, Vec<KeyRecords>)> {
    let mut by_account: std::collections::BTreeMap<String, Vec<KeyRecords>> =
        std::collections::BTreeMap::new();
    for record in records {
        let Some(key) = record.msg_key.clone() else {
            continue;
        };
        let keys = by_account.entry(record.recipient.clone()).or_default();
        match keys.iter_mut().find(|(k, _)| *k == key) {
            Some((_, same)) => same.push(record),
            None => keys.push((key, vec![record])),
        }
    }
    let mut calls = Vec::new();
    for (account, keys) in by_account {
        let mut keys = keys.into_iter().peekable();
        while keys.peek().is_some() {
            let chunk: Vec<_> = keys.by_ref().take(MAX_RECALL_MSG_KEYS).collect();
            calls.push((account.clone(), chunk));
        }
    }
    calls
}

/// Adds withdrawals to the progress counters as they finish.
fn count(progress: &super::progress::Counters, results: &[(String, Withdrawal)]) {
    use std::sync::atomic::Ordering::Relaxed;
    for (_, outcome) in results {
        match outcome {
            Withdrawal::Done => progress.sent.fetch_add(1, Relaxed),
            Withdrawal::Failed(_) | Withdrawal::Fatal(_) => progress.failed.fetch_add(1, Relaxed),
        };
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
    recall_with(
        loaded,
        state,
        targets,
        client,
        admin,
        &RecallOptions::default(),
    )
    .await
}

/// [`recall`] with `options`.
pub async fn recall_with(
    loaded: &LoadedCampaign,
    state: &State,
    targets: Vec<SendRecord>,
    client: ImClient,
    admin: &str,
    options: &RecallOptions,
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
    let (official, one_to_one): (Vec<SendRecord>, Vec<SendRecord>) = targets
        .into_iter()
        .partition(|r| r.endpoint == Endpoint::SendOfficialAccountMsg);
    let progress = options.progress.clone().unwrap_or_default();
    progress.total.store(
        (official.len() + one_to_one.len()) as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    let mut tasks: JoinSet<Vec<(String, Withdrawal)>> = JoinSet::new();
    for (account, keys) in official_calls(official) {
        let Ok(permit) = semaphore.clone().acquire_owned().await else {
            break;
        };
        if stop.is_stopped() {
            break;
        }
        let (client, limits, stop, writer, progress) = (
            client.clone(),
            limits.clone(),
            stop.clone(),
            writer.clone(),
            progress.clone(),
        );
        let reason = options.reason.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let wanted: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
            let outcomes = withdraw_official(
                &client,
                &account,
                wanted,
                reason.as_deref(),
                &limits,
                &stop,
                max_attempts,
            )
            .await;
            let mut done = Vec::new();
            let mut results = Vec::new();
            for (key, outcome) in outcomes {
                let records = keys
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, r)| r.as_slice())
                    .unwrap_or_default();
                for record in records {
                    if let Withdrawal::Done = outcome {
                        let mut recalled = record.clone();
                        recalled.state = SendState::Recalled;
                        recalled.updated_at_ms = now_ms();
                        done.push(recalled);
                    }
                    if let Withdrawal::Fatal(reason) = &outcome {
                        stop.fatal(reason.clone());
                    }
                    let outcome = match &outcome {
                        Withdrawal::Done => Withdrawal::Done,
                        Withdrawal::Failed(why) => {
                            Withdrawal::Failed(format!("MsgKey {key}: {why}"))
                        }
                        Withdrawal::Fatal(why) => Withdrawal::Fatal(why.clone()),
                    };
                    results.push((record.recipient.clone(), outcome));
                }
            }
            if !done.is_empty() {
                writer.write(done);
            }
            count(&progress, &results);
            results
        });
    }
    for record in one_to_one {
        let Ok(permit) = semaphore.clone().acquire_owned().await else {
            break;
        };
        if stop.is_stopped() {
            break;
        }
        let (client, limits, stop, writer, from, progress) = (
            client.clone(),
            limits.clone(),
            stop.clone(),
            writer.clone(),
            from.clone(),
            progress.clone(),
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
            let results = vec![(record.recipient, outcome)];
            count(&progress, &results);
            results
        });
    }
    let mut summary = RecallSummary::default();
    while let Some(joined) = tasks.join_next().await {
        let Ok(outcomes) = joined else {
            continue;
        };
        for (recipient, outcome) in outcomes {
            match outcome {
                Withdrawal::Done => summary.recalled += 1,
                Withdrawal::Failed(why) | Withdrawal::Fatal(why) => {
                    summary.failed += 1;
                    summary.failures.push((recipient, why));
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn broadcast(account: &str, key: &str) -> SendRecord {
        let mut r = SendRecord::intent(
            "news",
            account,
            "ab".into(),
            Endpoint::SendOfficialAccountMsg,
            account,
            (1, 1),
            0,
        );
        r.state = SendState::Sent;
        r.msg_key = Some(key.to_owned());
        r
    }

    #[test]
    fn official_recalls_take_at_most_ten_distinct_keys_a_call_per_account() {
        let mut records: Vec<SendRecord> = (0..23)
            .map(|i| broadcast("@TOA#a", &format!("{i}_1_1700000000")))
            .collect();
        records.push(broadcast("@TOA#a", "0_1_1700000000"));
        records.push(broadcast("@TOA#b", "7_1_1700000000"));
        let calls = official_calls(records);
        let shape: Vec<(&str, usize)> = calls
            .iter()
            .map(|(account, keys)| (account.as_str(), keys.len()))
            .collect();
        assert_eq!(
            shape,
            [("@TOA#a", 10), ("@TOA#a", 10), ("@TOA#a", 3), ("@TOA#b", 1)]
        );
        // The repeated key is asked once and answers for both records.
        assert_eq!(calls[0].1[0].1.len(), 2);
    }

    #[test]
    fn only_a_zero_ret_code_or_already_recalled_counts_as_recalled() {
        assert!(matches!(ret_code_outcome(0, true), Some(Withdrawal::Done)));
        assert!(matches!(
            ret_code_outcome(ALREADY_RECALLED, false),
            Some(Withdrawal::Done)
        ));
        match ret_code_outcome(10030, true) {
            Some(Withdrawal::Failed(why)) => assert!(why.contains("RetCode 10030"), "{why}"),
            _ => panic!("10030 is not a recall"),
        }
        // A transient code is tried again while attempts remain, and then reported.
        assert!(ret_code_outcome(10002, true).is_none());
        assert!(matches!(
            ret_code_outcome(10002, false),
            Some(Withdrawal::Failed(_))
        ));
    }
}
