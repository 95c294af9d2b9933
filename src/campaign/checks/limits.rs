//! Controls, delivery and schedule: the values and combinations the API documents (lifetime,
//! rates, official-account rules) and a schedule that can be met.

use std::collections::BTreeSet;

use crate::audience::CsvHeader;
use crate::campaign::model::{
    DOCUMENTED_RATE, DOCUMENTED_RECIPIENTS_PER_MINUTE, MAX_LIFETIME_SECS,
};

use super::Checks;

impl Checks<'_> {
    pub(super) fn controls(&mut self) {
        let controls = &self.campaign.controls;
        if controls.lifetime.as_secs() > MAX_LIFETIME_SECS {
            self.error(
                "/controls/lifetime",
                format!("`lifetime` {} is longer than 7 days", controls.lifetime),
                "the API keeps offline messages at most 7d (604800 s): use 7d or less (0 = online users only)",
            );
        }
        let mut seen = BTreeSet::new();
        for (index, callback) in controls.skip_callbacks.iter().enumerate() {
            if !seen.insert(*callback as u8) {
                self.warning(
                    &format!("/controls/skip_callbacks/{index}"),
                    "this callback is listed twice",
                    "list each callback once",
                );
            }
        }
        if self.campaign.audience.official_account.is_none() {
            return;
        }
        if controls.no_last_msg && controls.online_only {
            self.error(
                "/controls/no_last_msg",
                "`no_last_msg` cannot be combined with `online_only` for an official account",
                "the API refuses SendMsgControl NoLastMsg together with OnlineOnlyFlag 1: drop one of them",
            );
        }
        for (key, set) in [
            ("lifetime", self.span("/controls/lifetime").is_some()),
            ("no_unread", controls.no_unread),
            ("sync_to_sender", controls.sync_to_sender),
            ("with_mute_notifications", controls.with_mute_notifications),
        ] {
            if set {
                self.warning(
                    &format!("/controls/{key}"),
                    format!("`{key}` does not apply to official account messages"),
                    "send_official_account_msg takes no such field: remove it",
                );
            }
        }
    }

    pub(super) fn delivery(&mut self) {
        let delivery = &self.campaign.delivery;
        if delivery.rate.is_nan() || delivery.rate <= 0.0 {
            self.error(
                "/delivery/rate",
                format!("`rate` must be more than 0, but it is {}", delivery.rate),
                "calls per second; the API's documented default limit is 200",
            );
        } else if delivery.rate > DOCUMENTED_RATE {
            self.warning(
                "/delivery/rate",
                format!("`rate` {} is above the documented limit of 200 calls/s", delivery.rate),
                "the server will answer with rate-limit errors unless your edition's limit was raised",
            );
        }
        if delivery.recipients_per_minute == 0 {
            self.error(
                "/delivery/recipients_per_minute",
                "`recipients_per_minute` must be at least 1",
                "the documented default is 12000",
            );
        } else if delivery.recipients_per_minute > DOCUMENTED_RECIPIENTS_PER_MINUTE {
            self.warning(
                "/delivery/recipients_per_minute",
                format!(
                    "`recipients_per_minute` {} is above the documented 12000",
                    delivery.recipients_per_minute
                ),
                "batch sends count each recipient; the server refuses more unless your limit was raised",
            );
        }
        if delivery.concurrency == 0 {
            self.error(
                "/delivery/concurrency",
                "`concurrency` must be at least 1",
                "32 is a good default",
            );
        }
        if delivery.max_attempts == 0 {
            self.error(
                "/delivery/max_attempts",
                "`max_attempts` must be at least 1",
                "5 is a good default",
            );
        }
    }

    pub(super) fn schedule(&mut self, header: Option<&CsvHeader>) {
        let Some(schedule) = &self.campaign.schedule else {
            return;
        };
        if let (Some(at), Some(not_after)) = (schedule.at, schedule.not_after)
            && not_after <= at
        {
            self.error(
                "/schedule/not_after",
                "`not_after` is not later than `at`",
                "the campaign could never be sent: move `not_after` after `at`",
            );
        }
        let Some(window) = &schedule.window else {
            return;
        };
        if window.from.is_end_of_day() {
            self.error(
                "/schedule/window/from",
                "a window cannot start at 24:00",
                "`24:00` ends a day; start the window at \"00:00\"",
            );
        }
        if window.from == window.to {
            self.error(
                "/schedule/window/to",
                "the window is empty: `from` and `to` are the same time",
                "give the daily sending hours, e.g. from: \"09:00\", to: \"21:00\"",
            );
        }
        if let Err(unknown) = crate::zone::parse(&window.timezone) {
            let forms = format!("use {}", crate::zone::ZONE_FORMS);
            self.error(
                "/schedule/window/timezone",
                format!("`{}` is not a known time zone", unknown.text),
                match &unknown.suggestion {
                    Some(name) => format!("did you mean `{name}`? ({forms})"),
                    None => forms,
                },
            );
        }
        if let Some(column) = &window.recipient_timezone_column {
            if self.campaign.audience.official_account.is_some() {
                self.error(
                    "/schedule/window/recipient_timezone_column",
                    "an official account has no per-recipient time zones",
                    "remove `recipient_timezone_column`",
                );
            } else if let Some(header) = header
                && !header.has(column)
            {
                self.error(
                    "/schedule/window/recipient_timezone_column",
                    format!("the CSV has no column `{column}`"),
                    format!("its columns are: {}", header.columns.join(", ")),
                );
            }
        }
    }
}
