//! Frequency caps as a marketing team uses them: a campaign capped at one message a week after
//! another reached half the audience sends only to the other half, a cap counts only the
//! campaigns with its tags, a cap judged again as each send goes out (another campaign sending
//! meanwhile), with both journal stores, in every plan format, and the mistakes validation
//! locates.

#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use timcast::sandbox::{Faults, Limits, SandboxHandle, SystemClock};

use crate::common::{self, Outcome, Session};

async fn sandbox() -> SandboxHandle {
    let (mut config, _) = common::config();
    config.clock = Arc::new(SystemClock);
    config.limits = Limits::off();
    config.faults = Faults::none();
    common::start(config).await
}

/// The journals each scenario runs with: the SQLite default, and PostgreSQL when there is one.
fn stores(test: &str) -> Vec<Option<String>> {
    let mut all = vec![None];
    if let Some(url) = crate::postgres::postgres_url(test) {
        all.push(Some(url));
    }
    all
}

/// `NAME.csv` holding `ids`, in `dir`.
fn write_csv(dir: &Path, name: &str, ids: impl IntoIterator<Item = String>) {
    let mut csv = String::from("user_id,first_name\n");
    for id in ids {
        csv.push_str(&format!("{id},N{id}\n"));
    }
    std::fs::write(dir.join(format!("{name}.csv")), csv).unwrap();
}

/// Campaign `name` to `csv`, its text naming it, with `extra` top-level keys.
fn write_campaign(dir: &Path, name: &str, csv: &str, extra: &str, rate: u32) {
    let yaml = format!(
        "version: 1\nname: {name}\naudience:\n  csv: {csv}.csv\nmessage:\n  - text: \"{name} for {{{{first_name}}}}\"\n{extra}delivery:\n  rate: {rate}\n  batch: off\n"
    );
    std::fs::write(dir.join(format!("{name}.yaml")), yaml).unwrap();
}

fn session(dir: &Path, sandbox: &SandboxHandle, state: &Option<String>, args: &[&str]) -> Session {
    let session = Session::new().current_dir(dir).sandbox(sandbox).args(args);
    match state {
        Some(url) => session.env("TIMCAST_STATE", url),
        None => session,
    }
}

/// `timcast ARGS` in `dir`, which must succeed.
async fn timcast(
    dir: &Path,
    sandbox: &SandboxHandle,
    state: &Option<String>,
    args: &[&str],
) -> Outcome {
    session(dir, sandbox, state, args)
        .run_async()
        .await
        .expect_code(0)
}

/// Who received campaign `name`'s message, in order.
fn received(sandbox: &SandboxHandle, name: &str) -> Vec<String> {
    sandbox
        .deliveries()
        .into_iter()
        .filter(|d| {
            d.body[0]["MsgContent"]["Text"]
                .as_str()
                .is_some_and(|t| t.starts_with(&format!("{name} for ")))
        })
        .map(|d| d.recipient)
        .collect()
}

/// Each recipient's journaled state in campaign `name`, from `report --format csv`.
async fn states(
    dir: &Path,
    sandbox: &SandboxHandle,
    state: &Option<String>,
    name: &str,
) -> BTreeMap<String, String> {
    let file = format!("{name}.yaml");
    let out = timcast(dir, sandbox, state, &["report", &file, "--format", "csv"]).await;
    let mut lines = out.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (user, state) = (column("user_id"), column("state"));
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells[user].to_owned(), cells[state].to_owned())
        })
        .collect()
}

fn ids(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("u{i:03}")).collect()
}

const WEEKLY_CAP: &str = "frequency_cap: { max: 1, per: 7d }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_campaign_after_one_that_reached_half_the_audience_sends_to_the_other_half() {
    for state in stores("cap_half") {
        let sandbox = sandbox().await;
        let dir = tempfile::tempdir().unwrap();
        write_csv(dir.path(), "everyone", ids(0..200));
        write_csv(dir.path(), "half", ids(0..100));
        write_campaign(dir.path(), "news", "half", "", 1000);
        write_campaign(dir.path(), "spring", "everyone", WEEKLY_CAP, 1000);

        // Before anything was sent, nobody is capped.
        let plan = timcast(dir.path(), &sandbox, &state, &["plan", "spring.yaml"]).await;
        assert!(!plan.stdout.contains("capped"), "{}", plan.stdout);

        timcast(
            dir.path(),
            &sandbox,
            &state,
            &["apply", "--yes", "news.yaml"],
        )
        .await;
        let mut news = received(&sandbox, "news");
        news.sort();
        assert_eq!(news, ids(0..100));

        // `preview` says who is capped now.
        let mut notes = Vec::new();
        for who in ["u000", "u150"] {
            let args = ["preview", "spring.yaml", "--recipient", who];
            notes.push(timcast(dir.path(), &sandbox, &state, &args).await.stdout);
        }
        let why = "1 message from other campaigns in the last 7d (cap 1 per 7d)";
        assert!(
            notes[0].contains(&format!("note: u000 is capped ({why})")),
            "{}",
            notes[0]
        );
        assert!(!notes[1].contains("capped"), "{}", notes[1]);

        let plan = timcast(
            dir.path(),
            &sandbox,
            &state,
            &["plan", "spring.yaml", "--format", "json"],
        )
        .await;
        let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
        assert_eq!(plan["pending"], 100, "{state:?}");
        assert_eq!(plan["states"]["capped"], 100, "{state:?}");

        let out = timcast(
            dir.path(),
            &sandbox,
            &state,
            &["apply", "--yes", "spring.yaml"],
        )
        .await;
        assert!(
            out.stdout
                .contains("sent 100, failed 0, uncertain 0, not started 0, capped 100"),
            "{}",
            out.stdout
        );
        // Only the other half, each once; the capped half is journaled with why.
        let mut spring = received(&sandbox, "spring");
        spring.sort();
        assert_eq!(spring, ids(100..200), "{state:?}");
        let journaled = states(dir.path(), &sandbox, &state, "spring").await;
        assert_eq!(journaled.len(), 200);
        for (who, s) in &journaled {
            let expected = if who.as_str() < "u100" {
                "capped"
            } else {
                "sent"
            };
            assert_eq!(s, expected, "{who} {state:?}");
        }

        let csv = timcast(
            dir.path(),
            &sandbox,
            &state,
            &["report", "spring.yaml", "--format", "csv"],
        )
        .await;
        let why = "1 message from other campaigns in the last 7d (cap 1 per 7d)";
        assert_eq!(csv.stdout.matches(why).count(), 100, "{}", csv.stdout);

        // Planned again: the capped half is still capped (and not sent), nothing pending.
        let plan = timcast(dir.path(), &sandbox, &state, &["plan", "spring.yaml"]).await;
        assert!(
            plan.stdout
                .contains("1 message from other campaigns in the last 7d (cap 1 per 7d)"),
            "{}",
            plan.stdout
        );
        let again = timcast(
            dir.path(),
            &sandbox,
            &state,
            &["apply", "--yes", "spring.yaml"],
        )
        .await;
        assert!(again.stdout.contains("nothing to send"), "{}", again.stdout);
        assert_eq!(received(&sandbox, "spring").len(), 100);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cap_with_tags_counts_only_the_campaigns_carrying_them() {
    for state in stores("cap_tags") {
        let sandbox = sandbox().await;
        let dir = tempfile::tempdir().unwrap();
        write_csv(dir.path(), "everyone", ids(0..90));
        write_csv(dir.path(), "first", ids(0..30));
        write_csv(dir.path(), "second", ids(30..60));
        write_campaign(dir.path(), "sale", "first", "tags: [promo]\n", 1000);
        write_campaign(
            dir.path(),
            "receipt",
            "second",
            "tags: [transactional]\n",
            1000,
        );
        write_campaign(
            dir.path(),
            "flash",
            "everyone",
            "tags: [promo]\nfrequency_cap: { max: 1, per: 24h, tags: [promo] }\n",
            1000,
        );
        for campaign in ["sale.yaml", "receipt.yaml", "flash.yaml"] {
            timcast(dir.path(), &sandbox, &state, &["apply", "--yes", campaign]).await;
        }
        // The promo got the other promo's 30 capped, not the receipts' 30.
        let mut flash = received(&sandbox, "flash");
        flash.sort();
        assert_eq!(flash, ids(30..90), "{state:?}");

        // `state info` shows each campaign's tags, and they travel with `state migrate`.
        let info = timcast(dir.path(), &sandbox, &state, &["state", "info"]).await;
        assert!(info.stdout.contains("tags: promo"), "{}", info.stdout);
        assert!(
            info.stdout.contains("tags: transactional"),
            "{}",
            info.stdout
        );
        if let Some(url) = &state {
            let copy = dir.path().join("copy.db");
            let copy = copy.to_str().unwrap();
            timcast(
                dir.path(),
                &sandbox,
                &None,
                &["state", "migrate", "--from", url, "--to", copy],
            )
            .await;
            let info = timcast(
                dir.path(),
                &sandbox,
                &None,
                &["state", "info", "--state", copy],
            )
            .await;
            assert!(
                info.stdout
                    .contains("receipt: 30 recipients (30 sent), tags: transactional"),
                "{}",
                info.stdout
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_is_checked_again_as_each_send_goes_out() {
    for state in stores("cap_send_time") {
        let sandbox = sandbox().await;
        let dir = tempfile::tempdir().unwrap();
        write_csv(dir.path(), "everyone", ids(0..200));
        write_csv(dir.path(), "backwards", ids(0..200).into_iter().rev());
        // `news` goes down the audience at 100/s; `spring`, capped, up it at 50/s once news
        // is under way. They meet about a third of the way up.
        write_campaign(dir.path(), "news", "backwards", "", 100);
        write_campaign(dir.path(), "spring", "everyone", WEEKLY_CAP, 50);
        let news = session(
            dir.path(),
            &sandbox,
            &state,
            &["apply", "--yes", "news.yaml"],
        )
        .spawn();
        while received(&sandbox, "news").len() < 10 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let out = timcast(
            dir.path(),
            &sandbox,
            &state,
            &["apply", "--yes", "spring.yaml"],
        )
        .await;
        Outcome::wait_async(news).await.expect_code(0);
        assert_eq!(received(&sandbox, "news").len(), 200);
        // Spring's planner read the whole audience before news got far: only a check as
        // each send goes out keeps back those news reached since.
        let spring = received(&sandbox, "spring");
        let journaled = states(dir.path(), &sandbox, &state, "spring").await;
        let capped = journaled.values().filter(|s| *s == "capped").count();
        assert_eq!(capped + spring.len(), 200, "{}", out.stdout);
        assert!(capped >= 100, "capped {capped}: {}", out.stdout);
        assert!(
            out.stdout.contains(&format!("sent {}, ", spring.len())),
            "{}",
            out.stdout
        );
        // Nobody got spring after news (but for a send racing news's at the meeting point).
        let order: Vec<(String, bool)> = sandbox
            .deliveries()
            .into_iter()
            .map(|d| {
                let spring = d.body[0]["MsgContent"]["Text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("spring"));
                (d.recipient, spring)
            })
            .collect();
        let late = spring
            .iter()
            .filter(|who| {
                let first = order.iter().position(|(r, _)| r == *who).unwrap();
                !order[first].1
            })
            .count();
        assert!(late <= 2, "{late} got spring after news: {}", out.stdout);
    }
}

/// `timcast validate` of `extra` keys in a campaign beside a CSV.
fn validate(extra: &str, official: bool) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    write_csv(dir.path(), "users", ids(0..2));
    let audience = if official {
        "  official_account: \"@TOA#news\"\n"
    } else {
        "  csv: users.csv\n"
    };
    let yaml = format!("version: 1\nname: c\naudience:\n{audience}message:\n  - text: hi\n{extra}");
    std::fs::write(dir.path().join("campaign.yaml"), yaml).unwrap();
    Session::new()
        .current_dir(dir.path())
        .args(["validate", "campaign.yaml"])
        .run()
}

#[test]
fn mistakes_in_caps_and_tags_are_located() {
    let out = validate(
        "tags: [promo, \"no spaces\"]\nfrequency_cap:\n  max: 0\n  per: 0s\n  tags: [\"\"]\n",
        false,
    );
    assert_eq!(out.code, 1, "{}", out.text());
    let text = out.text();
    for expected in [
        "campaign.yaml:7:15: `no spaces` is not a valid tag",
        "campaign.yaml:9:8: `max: 0` would let nobody receive the campaign",
        "campaign.yaml:10:8: `per` is zero",
        "campaign.yaml:11:10: `` is not a valid tag",
        "campaign.yaml: 4 errors",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    let out = validate("frequency_cap:\n  max: 1\n  per: 2d\n  every: 1\n", false);
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(out.text().contains("campaign.yaml:10:3"), "{}", out.text());
    assert!(out.text().contains("every"), "{}", out.text());
    let out = validate("frequency_cap: { max: 1, per: 7d }\n", true);
    assert!(
        out.text()
            .contains("`frequency_cap` does not work with an official account"),
        "{}",
        out.text()
    );
    validate(
        "tags: [promo]\nfrequency_cap: { max: 2, per: 7d, tags: [promo] }\n",
        false,
    )
    .expect_code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_show_the_capped_in_every_format() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    write_csv(dir.path(), "everyone", ids(0..6));
    write_csv(dir.path(), "half", ids(0..3));
    write_campaign(dir.path(), "news", "half", "tags: [promo]\n", 1000);
    write_campaign(
        dir.path(),
        "spring",
        "everyone",
        "frequency_cap: { max: 1, per: 7d, tags: [promo] }\n",
        1000,
    );
    timcast(
        dir.path(),
        &sandbox,
        &None,
        &["apply", "--yes", "news.yaml"],
    )
    .await;
    for format in ["text", "markdown", "json"] {
        let out = timcast(
            dir.path(),
            &sandbox,
            &None,
            &["plan", "spring.yaml", "--format", format],
        )
        .await;
        insta::assert_snapshot!(format!("caps_{format}"), out.stdout);
    }
}
