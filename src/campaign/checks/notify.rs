//! `notify:`: each entry names an environment variable (never a URL), and one that is not
//! set here is worth a warning: the run would skip that notification.

use crate::campaign::model::{webhook_env_problem, webhook_env_unset};

use super::Checks;

impl Checks<'_> {
    pub(super) fn notify(&mut self) {
        for (index, entry) in self.campaign.notify.iter().enumerate() {
            let pointer = format!("/notify/{index}/webhook_env");
            let name = &entry.webhook_env;
            if let Some(problem) = webhook_env_problem(name) {
                self.error(
                    &pointer,
                    problem,
                    "write the variable's name, e.g. `webhook_env: SLACK_WEBHOOK_URL`, and export the URL in it (webhook URLs carry a token: keep them out of files)",
                );
            } else if webhook_env_unset(name) {
                self.warning(
                    &pointer,
                    format!("the environment variable `{name}` is not set"),
                    "a run posts no notification to it (with a warning) until it is set to the webhook's URL",
                );
            }
            if entry.on.is_empty() && self.span(&format!("/notify/{index}/on")).is_some() {
                // Only useful to switch off the same hook of timcast.toml; say so, not fail.
                self.warning(
                    &format!("/notify/{index}/on"),
                    "`on: []` posts nothing",
                    "it turns off the timcast.toml entry with the same webhook_env and format for this campaign; otherwise list `finished`, `failed` or both",
                );
            }
        }
    }
}
