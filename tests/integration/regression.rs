//! Regression tests for defects a new user hit, one per defect, named after what they guard
//! (ripgrep's tests/regression.rs style). Each failed before its fix.

use std::path::{Path, PathBuf};

use crate::common::Session;

/// A campaign over `csv` (written as given) with `extra` YAML appended.
fn campaign(dir: &Path, csv: &str, extra: &str) -> PathBuf {
    std::fs::write(dir.join("people.csv"), csv).unwrap();
    let yaml = format!(
        "version: 1\nname: regress\naudience:\n  csv: people.csv\n  on_bad_row: skip\nmessage:\n  - text: \"Hi {{{{first_name}}}}\"\n{extra}"
    );
    let path = dir.join("regress.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn plan(dir: &Path, args: &[&str]) -> crate::common::Outcome {
    Session::new()
        .current_dir(dir)
        .arg("plan")
        .arg("regress.yaml")
        .args(args.iter().copied())
        .run()
}

#[test]
fn an_unclosed_quote_in_the_csv_fails_the_plan_whatever_on_bad_row_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("user_id,first_name\n");
    for i in 1..=1000 {
        if i == 30 {
            csv.push_str("u30,\"Open\n");
        } else {
            csv.push_str(&format!("u{i},Name{i}\n"));
        }
    }
    campaign(dir.path(), &csv, "");
    let out = plan(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.text());
    // Row 31 in spreadsheet numbering: the header is row 1.
    assert!(out.stderr.contains("people.csv, row 31"), "{}", out.stderr);
    assert!(out.stderr.contains("close the quote"), "{}", out.stderr);
    assert!(!out.stdout.contains("to send"), "{}", out.stdout);
}

#[test]
fn a_quoted_field_over_a_few_lines_is_still_one_field() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "user_id,first_name\nu1,\"Ada\nLovelace\"\nu2,Bob\n";
    campaign(dir.path(), csv, "");
    let out = plan(dir.path(), &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.text());
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["pending"], 2, "{plan}");
}

#[test]
fn plan_warns_when_far_fewer_rows_were_read_than_the_csv_has_lines() {
    let dir = tempfile::tempdir().unwrap();
    // Every row's name spans two lines: legal CSV, but half the lines are not rows.
    let mut csv = String::from("user_id,first_name\n");
    for i in 1..=50 {
        csv.push_str(&format!("u{i},\"Name\n{i}\"\n"));
    }
    campaign(dir.path(), &csv, "");
    let out = plan(dir.path(), &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.text());
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["pending"], 50, "{json}");
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("has 100 lines after its header but 50 rows were read"),
        "{warnings}"
    );
    // One multi-line field in a thousand rows is no reason to worry.
    let mut csv = String::from("user_id,first_name\nu0,\"Ada\nLovelace\"\n");
    for i in 1..1000 {
        csv.push_str(&format!("u{i},Name{i}\n"));
    }
    campaign(dir.path(), &csv, "");
    let out = plan(dir.path(), &["--format", "json"]);
    assert!(!out.stdout.contains("rows were read"), "{}", out.stdout);
}

#[test]
fn plan_says_an_expired_schedule_sends_nothing_and_exits_0_for_ci() {
    let dir = tempfile::tempdir().unwrap();
    campaign(
        dir.path(),
        "user_id,first_name\nu1,Ada\nu2,Bob\n",
        "schedule:\n  at: 2026-11-27T09:00:00+08:00\n  not_after: 2026-11-27T21:00:00+08:00\n",
    );
    let out = Session::new()
        .current_dir(dir.path())
        .now("2026-11-28T00:00:00Z")
        .args(["plan", "regress.yaml", "--detailed-exitcode"])
        .run();
    assert_eq!(out.code, 0, "{}", out.text());
    assert!(
        out.stdout.contains("nothing will be sent"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("not_after"), "{}", out.stdout);
    // Before the end it is a plan with sends, as before.
    let before = Session::new()
        .current_dir(dir.path())
        .now("2026-11-27T02:00:00Z")
        .args(["plan", "regress.yaml", "--detailed-exitcode"])
        .run();
    assert_eq!(before.code, 2, "{}", before.text());
}

async fn live_sandbox() -> timcast::sandbox::SandboxHandle {
    let (mut config, _) = crate::common::config();
    config.clock = std::sync::Arc::new(timcast::sandbox::SystemClock);
    crate::common::start(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_due_goes_on_after_one_campaigns_fatal_error_and_does_not_say_interrupted() {
    use crate::common::CampaignWriter;
    let sandbox = live_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    CampaignWriter::new(dir.path(), "a-news")
        .official_account("@TOA#nosuch")
        .text("Maintenance tonight")
        .write();
    CampaignWriter::new(dir.path(), "b-hello")
        .recipients(2)
        .text("Hello {{first_name}}")
        .write();
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .args(["run", ".", "--due"])
        .run_async()
        .await;
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(out.stderr.contains("error a-news"), "{}", out.stderr);
    assert!(out.stdout.contains("b-hello: sent 2"), "{}", out.stdout);
    assert!(!out.text().contains("interrupted"), "{}", out.text());
    assert_eq!(sandbox.deliveries().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_due_stops_every_campaign_on_an_error_of_the_whole_app() {
    use crate::common::CampaignWriter;
    let sandbox = live_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    for name in ["a-first", "b-second"] {
        CampaignWriter::new(dir.path(), name)
            .recipients(2)
            .text("Hello {{first_name}}")
            .delivery("  concurrency: 1")
            .write();
    }
    // 70009: the UserSig was signed with another key, for every campaign alike.
    sandbox.inject(
        Some(timcast::im::Endpoint::SendMsg),
        timcast::sandbox::Injected::Code(70009),
        100,
    );
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .args(["run", ".", "--due"])
        .run_async()
        .await;
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stderr.contains("error ./b-second.yaml: not tried"),
        "{}",
        out.stderr
    );
    assert!(sandbox.deliveries().is_empty());
}

#[test]
fn report_of_a_campaign_file_that_is_not_there_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    // With a journal there, the name used to be taken as a campaign with no sends (exit 0).
    timcast::journal::State::sqlite(dir.path().join(".timcast/state.db"))
        .open()
        .unwrap();
    let out = Session::new()
        .current_dir(dir.path())
        .args(["report", "nosuch.yaml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(out.stderr.contains("nosuch.yaml"), "{}", out.stderr);
}

/// The `report: …` hint an apply printed, as arguments (without the redirection).
fn report_hint(stdout: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("no report hint in {stdout}"));
    let line = line.split(" > ").next().unwrap_or_default();
    line.split_whitespace().skip(1).map(str::to_owned).collect()
}

#[test]
fn every_report_hint_apply_prints_runs_as_printed() {
    let dir = crate::common::workspace();
    let run = |args: &[&str]| {
        Session::new()
            .current_dir(dir.path())
            .args(args.iter().copied())
            .run()
    };
    // The quick start, then a journal of one's own, then a saved plan.
    let quick = run(&["apply", "--sandbox", "campaigns/welcome.yaml"]).expect_code(0);
    let custom = run(&[
        "apply",
        "--sandbox",
        "--state",
        "state/mine.db",
        "campaigns/chatbot.yaml",
    ])
    .expect_code(0);
    run(&["plan", "campaigns/promotion.yaml", "--out", "promo.plan"]).expect_code(0);
    let saved = run(&["apply", "--sandbox", "promo.plan"]).expect_code(0);
    for applied in [quick, custom, saved] {
        let hint = report_hint(&applied.stdout);
        assert!(!hint.iter().any(|w| w.ends_with(".plan")), "{hint:?}");
        let report = Session::new().current_dir(dir.path()).args(&hint).run();
        assert_eq!(report.code, 0, "{hint:?}: {}", report.text());
        assert!(
            report.stdout.contains("sent"),
            "{hint:?}: {}",
            report.stdout
        );
    }
}

#[test]
fn report_without_sandbox_after_the_quick_start_suggests_it() {
    let dir = crate::common::workspace();
    Session::new()
        .current_dir(dir.path())
        .args(["apply", "--sandbox", "campaigns/welcome.yaml"])
        .run()
        .expect_code(0);
    let out = Session::new()
        .current_dir(dir.path())
        .args(["report", "campaigns/welcome.yaml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(out.stderr.contains("add --sandbox"), "{}", out.stderr);
}

#[test]
fn run_dry_run_does_not_count_campaigns_as_applied() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::CampaignWriter::new(dir.path(), "hello")
        .recipients(2)
        .text("Hello {{first_name}}")
        .write();
    let out = Session::new()
        .current_dir(dir.path())
        .demo_app()
        .endpoint("http://127.0.0.1:9")
        .args(["run", ".", "--due", "--dry-run"])
        .run()
        .expect_code(0);
    assert!(
        out.stdout.contains("would apply ./hello.yaml"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("run: 1 would be applied,"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("1 applied"), "{}", out.stdout);
}

/// `timcast plan` of a campaign written by `writer`, from its directory.
fn plan_of(
    dir: &Path,
    writer: crate::common::CampaignWriter,
    args: &[&str],
) -> crate::common::Outcome {
    let path = writer.write();
    Session::new()
        .current_dir(dir)
        .arg("plan")
        .arg(path.file_name().unwrap())
        .args(args.iter().copied())
        .run()
}

/// People with a city and a time zone, one template using them.
fn people(dir: &Path, text: &str) -> crate::common::CampaignWriter {
    crate::common::CampaignWriter::new(dir, "people")
        .columns(["user_id", "first_name", "city", "tz"])
        .rows([
            ["u1", "Ada", "1234.5", "Asia/Kolkata"],
            ["u2", "Bob", "Mumbai", "Asia/Kolkata"],
        ])
        .text(text)
}

#[test]
fn number_refuses_text_and_names_the_row_and_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = plan_of(
        dir.path(),
        people(dir.path(), "You live in {{number city}}"),
        &[],
    );
    // `Mumbai` used to be printed as the number.
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stdout.contains(
            "row 3 (u2): message[0].text: `number` expected a number, got \"Mumbai\" (from `city`)"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("row 2 (u1)"), "{}", out.stdout);
}

#[test]
fn date_refuses_a_value_that_is_not_a_date_and_names_the_row_and_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = plan_of(dir.path(), people(dir.path(), "Since {{date tz}}"), &[]);
    // The zone name used to be printed as the date.
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stdout
            .contains("row 2 (u1): message[0].text: `date` expected a date or time"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("got \"Asia/Kolkata\" (from `tz`)"),
        "{}",
        out.stdout
    );
}

/// A campaign whose `tiers` var has an entry for Ada only.
fn tiers(dir: &Path, text: &str) -> crate::common::CampaignWriter {
    people(dir, text).section("vars", "  tiers:\n    Ada: Gold")
}

#[test]
fn a_lookup_miss_names_the_key_it_did_not_find() {
    let dir = tempfile::tempdir().unwrap();
    let out = plan_of(
        dir.path(),
        tiers(dir.path(), "{{lookup tiers first_name}} member"),
        &[],
    );
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stdout.contains(
            "row 3 (u2): message[0].text: `lookup`: `tiers` has no entry \"Bob\" (from `first_name`)"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("strict mode"), "{}", out.stdout);
}

#[test]
fn default_gives_its_fallback_for_a_lookup_that_found_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let text = "{{default (lookup tiers first_name) \\\"Basic\\\"}} member";
    let out = plan_of(dir.path(), tiers(dir.path(), text), &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.text());
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["pending"], 2, "{plan}");
    assert_eq!(plan["audience"]["render_errors"], 0, "{plan}");
    let texts: Vec<&str> = plan["previews"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect();
    assert!(texts.contains(&"Gold member"), "{texts:?}");
    assert!(texts.contains(&"Basic member"), "{texts:?}");
}

/// A campaign with a daily window in each recipient's own zone, from the `tz` column.
fn zones<'a>(
    dir: &Path,
    rows: impl IntoIterator<Item = [&'a str; 2]>,
) -> crate::common::CampaignWriter {
    crate::common::CampaignWriter::new(dir, "zones")
        .columns(["user_id", "tz"])
        .rows(rows)
        .text("The sale is on")
        .schedule(
            "  window:\n    from: \"09:00\"\n    to: \"17:00\"\n    timezone: UTC\n    recipient_timezone_column: tz",
        )
}

#[test]
fn an_unknown_time_zone_in_the_recipients_column_is_a_bad_row_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        ["u1", "Mars/Olympus"],
        ["u2", "Asia/Shangai"],
        ["u3", "Asia/Tokyo"],
    ];
    // `on_bad_row: fail` (the default): the plan is blocked, not sent in the campaign's zone.
    let out = plan_of(dir.path(), zones(dir.path(), rows), &[]);
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stdout.contains(
            "row 2: the time zone `Mars/Olympus` (column `tz`) is not a known time zone; use an IANA name"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "row 3: the time zone `Asia/Shangai` (column `tz`) is not a known time zone; did you mean `Asia/Shanghai`?"
        ),
        "{}",
        out.stdout
    );
    // `on_bad_row: skip`: the bad rows are counted and left out, the rest is sent.
    std::fs::write(
        dir.path().join("zones.yaml"),
        std::fs::read_to_string(dir.path().join("zones.yaml"))
            .unwrap()
            .replace(
                "  csv: zones.csv\n",
                "  csv: zones.csv\n  on_bad_row: skip\n",
            ),
    )
    .unwrap();
    let out = Session::new()
        .current_dir(dir.path())
        .args(["plan", "zones.yaml", "--format", "json"])
        .run();
    assert_eq!(out.code, 0, "{}", out.text());
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["audience"]["bad_rows"], 2, "{plan}");
    assert_eq!(plan["pending"], 1, "{plan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_offsets_in_the_recipients_column_are_their_time_zones() {
    let sandbox = live_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    // At 03:00 UTC, 09:00–17:00 is open at +08:00 (11:00) and +09:00 (12:00), closed at
    // -05:30 (21:30) and in UTC, the window's own zone. The same message for all: one batch
    // per zone, so -05:30 must not ride along with +08:00.
    zones(
        dir.path(),
        [
            ["east", "+08:00"],
            ["west", "-05:30"],
            ["tokyo", "UTC+9"],
            ["london", "UTC"],
        ],
    )
    .write();
    let out = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .now("2026-11-24T03:00:00Z")
        .args(["apply", "zones.yaml", "--yes", "--no-wait"])
        .run_async()
        .await;
    assert_eq!(out.code, 0, "{}", out.text());
    let mut sent: Vec<String> = sandbox
        .deliveries()
        .into_iter()
        .map(|d| d.recipient)
        .collect();
    sent.sort();
    assert_eq!(sent, ["east", "tokyo"], "{}", out.text());
}

#[test]
fn validate_suggests_the_column_a_misspelt_template_variable_meant() {
    let dir = tempfile::tempdir().unwrap();
    let path = people(dir.path(), "Hi {{frist_name}}").write();
    let out = Session::new()
        .current_dir(dir.path())
        .arg("validate")
        .arg(path.file_name().unwrap())
        .run();
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stdout.contains("help: did you mean `first_name`?"),
        "{}",
        out.stdout
    );
}

#[test]
fn validate_suggests_the_time_zone_a_misspelt_window_timezone_meant() {
    let dir = tempfile::tempdir().unwrap();
    let path = people(dir.path(), "Hi {{first_name}}")
        .schedule("  window:\n    from: \"09:00\"\n    to: \"17:00\"\n    timezone: Asia/Shangai")
        .write();
    let out = Session::new()
        .current_dir(dir.path())
        .arg("validate")
        .arg(path.file_name().unwrap())
        .run();
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stdout
            .contains("`Asia/Shangai` is not a known time zone"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("help: did you mean `Asia/Shanghai`?"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_writes_each_campaigns_warnings_and_results_in_order_in_a_combined_log() {
    use crate::common::CampaignWriter;
    let sandbox = live_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    for name in ["a-first", "b-second"] {
        CampaignWriter::new(dir.path(), name)
            .recipients(2)
            .text("Hello {{first_name}}")
            // Above the documented limit: a validation warning for each campaign.
            .delivery("  rate: 500")
            .write();
    }
    let log = dir.path().join("cron.log");
    let file = std::fs::File::create(&log).unwrap();
    let child = Session::new()
        .current_dir(dir.path())
        .sandbox(&sandbox)
        .stdout(file.try_clone().unwrap().into())
        .stderr(file.into())
        .args(["run", ".", "--due"])
        .spawn();
    let out = crate::common::Outcome::wait_async(child).await;
    assert_eq!(out.code, 0);
    let log = std::fs::read_to_string(&log).unwrap();
    let at = |needle: &str| {
        log.find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in:\n{log}"))
    };
    let order = [
        at("warning: ./a-first.yaml"),
        at("apply ./a-first.yaml"),
        at("a-first: sent 2"),
        at("warning: ./b-second.yaml"),
        at("apply ./b-second.yaml"),
        at("b-second: sent 2"),
        at("run: 2 applied"),
    ];
    assert!(order.is_sorted(), "{order:?} in:\n{log}");
}
