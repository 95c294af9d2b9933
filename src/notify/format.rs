//! The body each webhook format receives, in the shape its service documents.
//!
//! - `json`: timcast's own object, stable for scripts (`event`, `campaign`, `sent`, `failed`,
//!   `uncertain`, `not_started`, `duration_ms`, `report`, and `reason` when the run failed).
//! - `slack`: an incoming webhook takes `{"text": "..."}` (mrkdwn), with optional `blocks`;
//!   `text` alone is what every incoming webhook accepts and is the notification's fallback
//!   (api.slack.com/messaging/webhooks, "Sending messages using incoming webhooks").
//! - `wecom`: a WeCom group robot (群机器人) takes `{"msgtype": "markdown", "markdown":
//!   {"content": "..."}}`, content at most 4096 bytes of UTF-8, and answers `{"errcode": 0}`
//!   (developer.work.weixin.qq.com/document/path/91770, "群机器人配置说明").
//! - `feishu`: a Feishu/Lark custom bot takes `{"msg_type": "text", "content": {"text":
//!   "..."}}` and answers `{"code": 0}` (older bots: `{"StatusCode": 0}`)
//!   (open.feishu.cn/document/client-docs/bot-v3/add-custom-bot, "自定义机器人使用指南").

use serde_json::{Value, json};

use super::RunOutcome;
use crate::campaign::model::NotifyFormat;

/// WeCom refuses markdown content over 4096 bytes.
const WECOM_MAX_CONTENT_BYTES: usize = 4096;

/// The JSON body posted to a webhook of `format`.
pub(super) fn body(format: NotifyFormat, run: &RunOutcome) -> Value {
    match format {
        NotifyFormat::Json => {
            let mut object = json!({
                "event": run.end.word(),
                "campaign": run.campaign,
                "sent": run.sent,
                "failed": run.failed,
                "uncertain": run.uncertain,
                "not_started": run.not_started,
                "duration_ms": run.duration_ms,
                "report": run.report,
            });
            if let (Some(reason), Some(map)) = (&run.reason, object.as_object_mut()) {
                map.insert("reason".into(), Value::from(reason.as_str()));
            }
            object
        }
        NotifyFormat::Slack => json!({ "text": slack_text(run) }),
        NotifyFormat::Wecom => json!({
            "msgtype": "markdown",
            "markdown": { "content": truncate(&wecom_markdown(run), WECOM_MAX_CONTENT_BYTES) },
        }),
        NotifyFormat::Feishu => json!({
            "msg_type": "text",
            "content": { "text": plain_text(run) },
        }),
    }
}

/// The one-line result, as `apply` prints it.
fn headline(run: &RunOutcome) -> String {
    format!(
        "timcast: {} {}: sent {}, failed {}, uncertain {}, not started {} in {:.1} s",
        run.campaign,
        run.end.word(),
        run.sent,
        run.failed,
        run.uncertain,
        run.not_started,
        run.duration_ms as f64 / 1000.0
    )
}

fn plain_text(run: &RunOutcome) -> String {
    let mut text = headline(run);
    if let Some(reason) = &run.reason {
        text.push_str(&format!("\n{reason}"));
    }
    text.push_str(&format!("\nreport: {}", run.report));
    text
}

/// Slack's mrkdwn: `&`, `<` and `>` must be escaped in text.
fn slack_text(run: &RunOutcome) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut text = escape(&headline(run));
    if let Some(reason) = &run.reason {
        text.push_str(&format!("\n{}", escape(reason)));
    }
    text.push_str(&format!("\nreport: `{}`", escape(&run.report)));
    text
}

fn wecom_markdown(run: &RunOutcome) -> String {
    // WeCom's markdown has three colours: info (green), comment (grey), warning (orange-red).
    let colour = match run.end {
        crate::campaign::model::RunEnd::Finished => "info",
        crate::campaign::model::RunEnd::Failed => "warning",
    };
    let mut text = format!(
        "**timcast: {}** <font color=\"{colour}\">{}</font>\n> sent: {}\n> failed: {}\n> uncertain: {}\n> not started: {}\n> duration: {:.1} s",
        run.campaign,
        run.end.word(),
        run.sent,
        run.failed,
        run.uncertain,
        run.not_started,
        run.duration_ms as f64 / 1000.0
    );
    if let Some(reason) = &run.reason {
        text.push_str(&format!("\n{reason}"));
    }
    text.push_str(&format!("\nreport: `{}`", run.report));
    text
}

/// `text` cut to at most `max` bytes on a character boundary.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::model::RunEnd;

    fn run(end: RunEnd) -> RunOutcome {
        RunOutcome {
            end,
            campaign: "spring<sale>".into(),
            sent: 1998,
            failed: 2,
            uncertain: 0,
            not_started: 0,
            duration_ms: 12_345,
            report: "timcast report campaigns/spring.yaml".into(),
            reason: (end == RunEnd::Failed).then(|| "2 sends failed".to_owned()),
        }
    }

    #[test]
    fn each_format_has_its_services_shape() {
        let failed = run(RunEnd::Failed);
        let json = body(NotifyFormat::Json, &failed);
        assert_eq!(json["event"], "failed");
        assert_eq!(json["sent"], 1998);
        assert_eq!(json["duration_ms"], 12_345);
        assert_eq!(json["reason"], "2 sends failed");
        assert!(
            body(NotifyFormat::Json, &run(RunEnd::Finished))
                .get("reason")
                .is_none()
        );
        let slack = body(NotifyFormat::Slack, &failed);
        assert_eq!(slack.as_object().map(|o| o.len()), Some(1));
        assert!(
            slack["text"]
                .as_str()
                .unwrap()
                .starts_with("timcast: spring&lt;sale&gt; failed: sent 1998")
        );
        let wecom = body(NotifyFormat::Wecom, &failed);
        assert_eq!(wecom["msgtype"], "markdown");
        assert!(
            wecom["markdown"]["content"]
                .as_str()
                .unwrap()
                .contains("> sent: 1998")
        );
        let feishu = body(NotifyFormat::Feishu, &failed);
        assert_eq!(feishu["msg_type"], "text");
        assert!(
            feishu["content"]["text"]
                .as_str()
                .unwrap()
                .ends_with("report: timcast report campaigns/spring.yaml")
        );
    }

    #[test]
    fn wecom_content_stays_under_its_limit() {
        let mut long = run(RunEnd::Failed);
        long.reason = Some("错".repeat(3000));
        let content = body(NotifyFormat::Wecom, &long)["markdown"]["content"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(content.len() <= WECOM_MAX_CONTENT_BYTES);
        assert!(content.ends_with('…'));
    }
}
