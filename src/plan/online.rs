//! `plan --online`: the checks that need the API — that recipients exist (`account_check`, 100
//! IDs a call, at most 100 calls a second), that a chatbot sender exists (`get_all_robots`),
//! and an official account's subscriber count (`get_official_account_info`).

use std::time::Duration;

use crate::audience::{Recipients, RowOutcome};
use crate::campaign::LoadedCampaign;
use crate::error::Error;
use crate::im::types::{self as api, AccountStatus, MAX_ACCOUNT_CHECK_ITEMS};
use crate::im::{ConnectionArgs, ImClient};

use super::{AudienceKind, Plan, RowProblem};

/// Calls per second `account_check` allows.
const ACCOUNT_CHECK_RATE: u64 = 100;
/// Not-imported recipients listed by name; the rest are counted.
const MAX_LISTED: usize = 20;

/// Runs the online checks and adds their findings to the plan.
pub async fn check(
    loaded: &LoadedCampaign,
    plan: &mut Plan,
    connection: &ConnectionArgs,
) -> Result<(), Error> {
    let defaults = crate::campaign::connection_defaults(&loaded.campaign);
    let resolved = connection.resolve(&defaults)?;
    let client = ImClient::from_connection(resolved)
        .map_err(|e| Error::network("--online: cannot set up the HTTP client", e))?;
    run(loaded, plan, &client)
        .await
        .map_err(|e| Error::Environment(format!("--online: {e}")))
}

async fn run(loaded: &LoadedCampaign, plan: &mut Plan, client: &ImClient) -> Result<(), String> {
    let campaign = &loaded.campaign;
    if let Some(sender) = campaign
        .sender
        .as_deref()
        .filter(|s| s.starts_with("@RBT#"))
    {
        let robots = client
            .get_all_robots()
            .await
            .map_err(|e| format!("get_all_robots: {e}"))?;
        if robots.robot_account.iter().any(|r| r == sender) {
            plan.online.push(format!(
                "the chatbot sender {sender} exists (get_all_robots)"
            ));
        } else {
            plan.blocked = true;
            plan.problems.push(RowProblem {
                row: None,
                user_id: Some(sender.to_owned()),
                message: format!(
                    "the sender {sender} is not one of the app's chatbots ({}); create it or fix `sender`",
                    if robots.robot_account.is_empty() { "there are none".to_owned() } else { robots.robot_account.join(", ") }
                ),
            });
        }
    }
    if let Some(account) = &campaign.audience.official_account {
        let filter = api::ResponseFilter::only([api::OfficialAccountInfoField::SubscriberNum]);
        let infos = client
            .official_account_infos(std::slice::from_ref(account), Some(&filter))
            .await
            .map_err(|e| format!("get_official_account_info: {e}"))?;
        let subscribers = infos.first().and_then(|info| info.subscriber_num);
        plan.online.push(match subscribers {
            Some(n) => format!(
                "the official account {account} exists and has {n} subscribers (get_official_account_info)"
            ),
            None => format!("the official account {account} exists (get_official_account_info)"),
        });
        plan.audience.kind = AudienceKind::OfficialAccount {
            account: account.clone(),
            subscribers,
        };
        return Ok(());
    }
    if campaign.audience.csv.is_none() {
        return Ok(());
    }
    let mut reader = Recipients::of_campaign(loaded, true).map_err(|e| e.to_string())?;
    let mut batch: Vec<(u64, String)> = Vec::with_capacity(MAX_ACCOUNT_CHECK_ITEMS);
    let mut missing = 0u64;
    let (mut checked, mut calls) = (0u64, 0u64);
    let mut pacer = tokio::time::interval(Duration::from_millis(1000 / ACCOUNT_CHECK_RATE));
    pacer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = reader.next_row();
        if let Some(outcome) = &next
            && let Ok(RowOutcome::Recipient(row)) = outcome
        {
            batch.push((row.row, row.user_id.clone()));
        }
        let at_end = next.is_none();
        if batch.len() == MAX_ACCOUNT_CHECK_ITEMS || (at_end && !batch.is_empty()) {
            pacer.tick().await;
            checked += batch.len() as u64;
            calls += 1;
            let request = api::AccountCheckRequest::new(batch.iter().map(|(_, id)| id.clone()));
            let reply = client
                .account_check(&request)
                .await
                .map_err(|e| format!("account_check: {e}"))?;
            for item in reply.result_item {
                let imported = item.result_code == 0
                    && item.account_status != Some(AccountStatus::NotImported);
                if !imported {
                    missing += 1;
                    let row = batch
                        .iter()
                        .find(|(_, id)| *id == item.user_id)
                        .map(|(r, _)| *r);
                    if plan.problems.len() < MAX_LISTED {
                        plan.problems.push(RowProblem {
                            row,
                            user_id: Some(item.user_id.clone()),
                            message: format!(
                                "{}{} is not an imported account: a send would fail (70107 / 90012)",
                                row.map(|r| format!("row {r}: ")).unwrap_or_default(),
                                item.user_id
                            ),
                        });
                    }
                }
            }
            batch.clear();
        }
        if at_end {
            break;
        }
    }
    plan.online.push(if missing == 0 {
        format!(
            "all {checked} recipients are imported accounts (account_check, {calls} call{})",
            if calls == 1 { "" } else { "s" }
        )
    } else {
        format!("{missing} of {checked} recipients are not imported accounts (account_check)")
    });
    if missing > 0 {
        plan.warnings.push(format!(
            "{missing} recipients are not imported accounts (account_check); their sends will fail and be recorded as failed"
        ));
    }
    Ok(())
}
