//! Looking one uncertain send up in the server's one-to-one history (`admin_getroammsg`):
//! the context the targets settle with, its paced and retried page reads, and the verdict.

use std::pin::Pin;
use std::time::Duration;

use governor::DefaultDirectRateLimiter;

use super::{CLOCK_SKEW, MAX_PAGES, Verdict};
use crate::apply::{Stop, now_ms};
use crate::im::types::{GetRoamMsgRequest, GetRoamMsgResponse, RoamMsg, sent_fields_problem};
use crate::im::{ClientError, ErrorClass, ImClient};
use crate::journal::SendRecord;

/// Everything a target needs to settle its sends from the history.
pub(crate) struct SettleCtx {
    pub(super) client: ImClient,
    /// `From_Account` as the server recorded it: the campaign's sender, or the admin.
    pub(super) sender: String,
    /// `SyncOtherMachine` 1: the sender's own history has the message, and is read (it is the
    /// campaign's own account, which recipients cannot clear); with 2 only the recipient's has it.
    pub(super) sender_history: bool,
    pub(super) retention_ms: i64,
    pub(super) pacer: DefaultDirectRateLimiter,
    pub(super) stop: Stop,
    pub(super) max_attempts: u32,
    pub(super) backoff_base: Duration,
    pub(super) backoff_cap: Duration,
}

impl std::fmt::Debug for SettleCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettleCtx")
            .field("sender", &self.sender)
            .field("sender_history", &self.sender_history)
            .finish_non_exhaustive()
    }
}

pub(crate) type VerdictFuture<'a> = Pin<Box<dyn std::future::Future<Output = Verdict> + Send + 'a>>;

/// A time for messages: RFC 3339 UTC to the second.
fn clock(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

fn days(d: Duration) -> String {
    crate::campaign::model::HumanDuration::from_secs(d.as_secs()).to_string()
}

impl SettleCtx {
    /// Looks a one-to-one send up in the conversation's history: the sendmsg and batchsendmsg
    /// targets settle their sends with this.
    pub(crate) async fn c2c_history(&self, record: &SendRecord) -> Verdict {
        let now = now_ms();
        if now.saturating_sub(record.intent_at_ms) > self.retention_ms {
            return Verdict::Undecided {
                why: format!(
                    "older than the server keeps one-to-one history ({} of roaming retention), so the history cannot tell whether it arrived; if your app keeps history longer, pass --history-retention (sent {})",
                    days(Duration::from_millis(
                        u64::try_from(self.retention_ms).unwrap_or(0)
                    )),
                    clock(record.intent_at_ms)
                ),
            };
        }
        let skew = i64::try_from(CLOCK_SKEW.as_secs()).unwrap_or(300);
        let min_time =
            u64::try_from((record.intent_at_ms / 1000).saturating_sub(skew)).unwrap_or(0);
        let max_time = u64::try_from((now / 1000).saturating_add(skew)).unwrap_or(u64::MAX);
        let (operator, peer) = if self.sender_history {
            (self.sender.as_str(), record.recipient.as_str())
        } else {
            (record.recipient.as_str(), self.sender.as_str())
        };
        let mut request = GetRoamMsgRequest::first_page(operator, peer, min_time, max_time);
        for _ in 0..MAX_PAGES {
            let reply = match self.page(&request).await {
                Ok(reply) => reply,
                Err(why) => return Verdict::Undecided { why },
            };
            if let Some(found) = reply.msg_list.iter().find(|m| self.is_the_send(m, record)) {
                let msg_time = i64::try_from(found.msg_time_stamp).unwrap_or(0);
                let key = (!found.msg_key.is_empty()
                    && sent_fields_problem(Some(&found.msg_key), Some(found.msg_time_stamp))
                        .is_none())
                .then(|| found.msg_key.clone());
                return Verdict::Sent {
                    msg_key: key,
                    msg_time,
                };
            }
            let complete = reply.is_complete();
            match request.next_page(&reply) {
                Some(next) => request = next,
                None if complete => {
                    return Verdict::NotSent {
                        why: format!(
                            "not sent: {operator}'s history with {peer} from {} to {} has no message with its MsgSeq {} and MsgRandom {} (admin_getroammsg); sent again by the next apply",
                            clock(i64::try_from(min_time).unwrap_or(0).saturating_mul(1000)),
                            clock(i64::try_from(max_time).unwrap_or(0).saturating_mul(1000)),
                            record.msg_seq,
                            record.msg_random
                        ),
                    };
                }
                None => {
                    return Verdict::Undecided {
                        why: "the history's pages did not advance (admin_getroammsg repeated its LastMsgKey)".to_owned(),
                    };
                }
            }
        }
        Verdict::Undecided {
            why: format!("the history had more than {MAX_PAGES} pages in the window"),
        }
    }

    fn is_the_send(&self, m: &RoamMsg, record: &SendRecord) -> bool {
        m.msg_seq == u64::from(record.msg_seq)
            && m.msg_random == u64::from(record.msg_random)
            && m.from_account == self.sender
            && m.to_account == record.recipient
    }

    /// One page, paced and retried: a read changes nothing, so any retryable failure (a lost
    /// reply included) is simply asked again.
    async fn page(&self, request: &GetRoamMsgRequest) -> Result<GetRoamMsgResponse, String> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            tokio::select! {
                _ = self.pacer.until_ready() => {}
                _ = self.stop.stopped() => return Err(self.not_looked_up()),
            }
            if self.stop.is_stopped() {
                return Err(self.not_looked_up());
            }
            let err = match self.client.admin_get_roam_msg(request).await {
                Ok(reply) => return Ok(reply),
                Err(err) => err,
            };
            let class = err.class();
            if class == ErrorClass::FatalRun {
                // Every lookup would fail the same way: stop looking (sending may still work).
                let why = format!("the history lookup was refused: {err}");
                self.stop.fatal(why.clone());
                return Err(why);
            }
            if !class.is_retryable() || attempt >= self.max_attempts {
                let tries = if attempt == 1 {
                    String::new()
                } else {
                    format!(" (after {attempt} attempts)")
                };
                return Err(format!(
                    "the history lookup failed{tries}: {}",
                    describe(&err)
                ));
            }
            let exp = self
                .backoff_base
                .saturating_mul(1u32 << (attempt - 1).min(16))
                .min(self.backoff_cap);
            let delay = if class == ErrorClass::RateLimited {
                exp.max(Duration::from_millis(500))
            } else {
                exp
            }
            .mul_f64(0.5 + rand::random::<f64>() / 2.0);
            if !self.stop.sleep(delay).await {
                return Err(self.not_looked_up());
            }
        }
    }

    pub(super) fn not_looked_up(&self) -> String {
        match self.stop.fatal_reason() {
            Some(why) => format!("not looked up: {why}"),
            None => "not looked up: the run stopped".to_owned(),
        }
    }
}

fn describe(err: &ClientError) -> String {
    err.to_string().chars().take(300).collect()
}
