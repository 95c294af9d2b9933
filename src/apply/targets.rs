//! The API calls that carry campaign messages, one [`SendTarget`] each: sendmsg (one
//! personalised message), batchsendmsg (up to 500 recipients of one message), the official
//! account broadcast, and a chatbot's stream.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::Stop;
use super::now_ms;
use super::send::{Call, Ctx, Outcome, SendFuture, SendTarget, batch_call_key};
use super::settle::{SettleCtx, VerdictFuture};
use crate::im::types::{BatchSendMsgResponse, MAX_BATCH_RECIPIENTS, SendStreamMsgRequest};
use crate::im::{Endpoint, RecipientOutcome, batch_outcomes};
use crate::journal::SendRecord;
use crate::plan::request;

/// The target whose calls `endpoint` makes, to settle its uncertain sends.
pub(crate) fn for_endpoint(endpoint: Endpoint) -> Option<Arc<dyn SendTarget>> {
    Some(match endpoint {
        Endpoint::SendMsg => Arc::new(SendMsg),
        Endpoint::BatchSendMsg => Arc::new(BatchSendMsg),
        Endpoint::SendOfficialAccountMsg => Arc::new(OfficialAccount),
        Endpoint::SendStreamMsg => Arc::new(Stream),
        _ => return None,
    })
}

/// `openim/sendmsg`: one recipient, a 120 s duplicate window.
#[derive(Debug)]
pub(crate) struct SendMsg;

impl SendTarget for SendMsg {
    fn endpoint(&self) -> Endpoint {
        Endpoint::SendMsg
    }

    fn send<'a>(&'a self, ctx: &'a Ctx, call: &'a Call) -> SendFuture<'a> {
        Box::pin(async move {
            let to = call.to.first().map(String::as_str).unwrap_or_default();
            let req = ctx.settings.send_msg(&call.message, to, call.identity);
            ctx.single(
                self,
                call,
                || ctx.client.send_msg(&req),
                |r| Outcome::sent(r.msg_key, r.msg_time),
            )
            .await
        })
    }

    fn settles_from_history(&self) -> bool {
        true
    }

    /// Past the duplicate window: the recipient's conversation with the sender.
    fn settle<'a>(&'a self, ctx: &'a SettleCtx, record: &'a SendRecord) -> VerdictFuture<'a> {
        Box::pin(ctx.c2c_history(record))
    }
}

/// `official_account_open_http_svc/send_official_account_msg`: every subscriber in one call,
/// a 5-minute duplicate window.
#[derive(Debug)]
pub(crate) struct OfficialAccount;

impl SendTarget for OfficialAccount {
    fn endpoint(&self) -> Endpoint {
        Endpoint::SendOfficialAccountMsg
    }

    fn send<'a>(&'a self, ctx: &'a Ctx, call: &'a Call) -> SendFuture<'a> {
        Box::pin(async move {
            let account = call.to.first().map(String::as_str).unwrap_or_default();
            let req = ctx
                .settings
                .official_account(&call.message, account, call.identity);
            ctx.single(
                self,
                call,
                || ctx.client.send_official_account_msg(&req),
                |r| Outcome::sent(r.msg_key, r.msg_time),
            )
            .await
        })
    }
}

/// `openim/batchsendmsg`: up to 500 recipients of an identical message. It has no documented
/// duplicate window, so a lost reply is never resent; refusals come back per recipient.
#[derive(Debug)]
pub(crate) struct BatchSendMsg;

impl SendTarget for BatchSendMsg {
    fn endpoint(&self) -> Endpoint {
        Endpoint::BatchSendMsg
    }

    fn max_recipients(&self) -> usize {
        MAX_BATCH_RECIPIENTS
    }

    fn call_id(&self, to: &[String]) -> String {
        batch_call_key(to)
    }

    fn send<'a>(&'a self, ctx: &'a Ctx, call: &'a Call) -> SendFuture<'a> {
        Box::pin(async move {
            let req = ctx
                .settings
                .batch_send_msg(&call.message, call.to.clone(), call.identity);
            let n = u32::try_from(call.to.len()).unwrap_or(u32::MAX);
            let (result, attempts) = ctx
                .with_retries(self.endpoint(), n, None, || ctx.client.batch_send_msg(&req))
                .await;
            let outcomes = match result {
                Ok(ref reply) if let Some(stranger) = stranger_in(reply, &call.to) => {
                    // The server answered for someone else's call: what it did with this one
                    // cannot be told from the reply.
                    let text = format!(
                        "the reply's ErrorList names {:?}, who was not in this call",
                        stranger.chars().take(60).collect::<String>()
                    );
                    let uncertain = Outcome::Uncertain {
                        msg_key: None,
                        text,
                    };
                    vec![uncertain; call.to.len()]
                }
                Ok(reply) => {
                    let failed: HashMap<String, RecipientOutcome> =
                        batch_outcomes(&call.to, &reply).into_iter().collect();
                    call.to
                        .iter()
                        .map(|to| match failed.get(to) {
                            Some(RecipientOutcome::Failed { code, class }) => Outcome::Failed {
                                code: Some(*code),
                                text: crate::im::describe(*code)
                                    .unwrap_or("refused in the batch's ErrorList")
                                    .to_owned(),
                                class: *class,
                            },
                            _ => Outcome::Sent {
                                msg_key: reply.msg_key.clone(),
                                msg_time: Some(now_ms() / 1000),
                            },
                        })
                        .collect()
                }
                Err(outcome) => vec![outcome; call.to.len()],
            };
            (outcomes, attempts)
        })
    }

    fn settles_from_history(&self) -> bool {
        true
    }

    /// Each recipient's conversation with the sender: a batch's message is in every
    /// recipient's history with the batch's MsgSeq and MsgRandom.
    fn settle<'a>(&'a self, ctx: &'a SettleCtx, record: &'a SendRecord) -> VerdictFuture<'a> {
        Box::pin(ctx.c2c_history(record))
    }
}

/// A recipient the batch reply's `ErrorList` names who was not in the call, if any.
fn stranger_in<'a>(reply: &'a BatchSendMsgResponse, to: &[String]) -> Option<&'a str> {
    let called: std::collections::HashSet<&str> = to.iter().map(String::as_str).collect();
    reply
        .error_list
        .iter()
        .map(|item| item.to_account.as_str())
        .find(|account| !called.contains(account))
}

/// `openim_robot_http_svc/send_stream_msg`: a chatbot types the text chunk by chunk. A
/// stream has no duplicate window: a lost reply is never resent.
#[derive(Debug)]
pub(crate) struct Stream;

impl SendTarget for Stream {
    fn endpoint(&self) -> Endpoint {
        Endpoint::SendStreamMsg
    }

    fn send<'a>(&'a self, ctx: &'a Ctx, call: &'a Call) -> SendFuture<'a> {
        Box::pin(async move {
            let to = call.to.first().map(String::as_str).unwrap_or_default();
            let (outcome, attempts) = stream(ctx, to, &call.message).await;
            (vec![outcome], attempts)
        })
    }
}

/// Streams one recipient's text: the first call makes the MsgKey, every later one carries
/// it, the last says Finish.
async fn stream(ctx: &Ctx, to: &str, message: &crate::render::RenderedMessage) -> (Outcome, u32) {
    let (chunk_chars, interval_ms) = ctx.stream.unwrap_or((40, 0));
    let chunks = request::stream_chunks(&request::stream_text(message), chunk_chars);
    let last = chunks.len().saturating_sub(1);
    let mut msg_key: Option<String> = None;
    let mut attempts = 0;
    for (i, chunk) in chunks.into_iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(interval_ms)).await;
            // A stream that has started is finished even after a stop: a half-typed
            // message with no Finish would stay on the recipient's screen.
            let never_stopped = Stop::new();
            if !ctx
                .limits
                .acquire(Endpoint::SendStreamMsg, 1, &never_stopped)
                .await
            {
                break;
            }
        }
        let req = SendStreamMsgRequest {
            from_account: ctx.sender.clone(),
            to_account: to.to_owned(),
            chunk,
            msg_key: msg_key.clone(),
            finish: (i == last).then_some(1),
        };
        let (result, n) = ctx
            .with_retries(Endpoint::SendStreamMsg, 1, None, || {
                ctx.client.send_stream_msg(&req)
            })
            .await;
        attempts += n;
        match result {
            Ok(reply) => {
                if msg_key.is_none() {
                    match reply.msg_key {
                        Some(key) => msg_key = Some(key),
                        None => {
                            let text = "the first chunk's reply had no MsgKey".into();
                            return (
                                Outcome::Uncertain {
                                    msg_key: None,
                                    text,
                                },
                                attempts,
                            );
                        }
                    }
                }
            }
            Err(outcome) if i == 0 => return (outcome, attempts),
            Err(outcome) => {
                // Part of the message is on the recipient's screen already.
                let text = match outcome {
                    Outcome::Failed { text, .. } | Outcome::Uncertain { text, .. } => text,
                    Outcome::Sent { .. } => String::new(),
                };
                let text = format!("the stream broke after chunk {i}: {text}");
                return (Outcome::Uncertain { msg_key, text }, attempts);
            }
        }
    }
    let sent = Outcome::Sent {
        msg_key,
        msg_time: Some(now_ms() / 1000),
    };
    (sent, attempts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sendmsg_and_official_accounts_settle_uncertain_sends_by_resending() {
        assert!(SendMsg.dedup_window().is_some());
        assert!(OfficialAccount.dedup_window().is_some());
        assert!(BatchSendMsg.dedup_window().is_none());
        assert!(Stream.dedup_window().is_none());
        assert_eq!(BatchSendMsg.max_recipients(), 500);
        let to = vec!["u2".to_owned(), "u1".to_owned()];
        assert_eq!(SendMsg.call_id(&to), "u2");
        assert!(BatchSendMsg.call_id(&to).starts_with("batch-"));
    }
}
