//! Variants, the holdout and locales as a marketing team uses them: an A/B test with a
//! control group applied against the sandbox, the same assignment from a shuffled CSV and a
//! fresh journal, translations chosen by BCP 47 prefix, each in every plan format, and the
//! mistakes validation locates.

#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use timcast::sandbox::{Faults, Limits, SandboxHandle, SystemClock};

use crate::common::{self, Outcome, Session};

const AB_TEST: &str = r#"version: 1
name: spring-ab
audience:
  csv: users.csv
vars:
  offer: "10% off"
message:
  - text: "Hi {{first_name}}, {{offer}} this week"
variants:
  - name: a
    weight: 1
    vars: { offer: "20% off" }
  - name: b
    weight: 1
    message:
      - text: "Hi {{first_name}}, free shipping this week"
holdout: 10%
delivery:
  rate: 1000
  batch: off
"#;

async fn sandbox() -> SandboxHandle {
    let (mut config, _) = common::config();
    config.clock = Arc::new(SystemClock);
    config.limits = Limits::off();
    config.faults = Faults::none();
    common::start(config).await
}

/// `users.csv` with `ids` in this order, and the campaign, in `dir`.
fn write_campaign(dir: &Path, campaign: &str, ids: &[String]) {
    let mut csv = String::from("user_id,first_name\n");
    for id in ids {
        csv.push_str(&format!("{id},N{id}\n"));
    }
    std::fs::write(dir.join("users.csv"), csv).unwrap();
    std::fs::write(dir.join("campaign.yaml"), campaign).unwrap();
}

async fn timcast(dir: &Path, sandbox: &SandboxHandle, args: &[&str]) -> Outcome {
    Session::new()
        .current_dir(dir)
        .sandbox(sandbox)
        .args(args)
        .run_async()
        .await
}

/// Each recipient's journaled variant (`held out` for the holdout), from `report --format csv`.
async fn assignment(dir: &Path, sandbox: &SandboxHandle) -> BTreeMap<String, String> {
    let out = timcast(
        dir,
        sandbox,
        &["report", "campaign.yaml", "--format", "csv"],
    )
    .await
    .expect_code(0);
    let mut lines = out.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (user, state, variant) = (column("user_id"), column("state"), column("variant"));
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let group = match cells[state] {
                "held out" => "held out".to_owned(),
                _ => cells[variant].to_owned(),
            };
            (cells[user].to_owned(), group)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ab_test_with_a_holdout_sends_each_variant_and_never_the_holdout() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..2000).map(|i| format!("u{i}")).collect();
    write_campaign(dir.path(), AB_TEST, &ids);

    let out = timcast(dir.path(), &sandbox, &["apply", "--yes", "campaign.yaml"])
        .await
        .expect_code(0);
    let groups = assignment(dir.path(), &sandbox).await;
    assert_eq!(groups.len(), 2000, "every recipient is journaled");
    let count = |group: &str| groups.values().filter(|g| *g == group).count();
    let (a, b, held_out) = (count("a"), count("b"), count("held out"));
    assert_eq!(a + b + held_out, 2000, "{groups:?}");
    // 10 % of 2,000 is 200, with a standard deviation of 13.4.
    assert!((150..=250).contains(&held_out), "held out {held_out}");
    // A near 50/50 split of the other 1,800 (standard deviation 21).
    assert!(a.abs_diff(b) <= 150, "a {a}, b {b}");
    assert!(
        out.stdout.contains(&format!(
            "sent {}, failed 0, uncertain 0, not started 0, held out {held_out}",
            a + b
        )),
        "{}",
        out.stdout
    );

    // The holdout got nothing, everyone else exactly once, each their variant's message.
    let deliveries = sandbox.deliveries();
    assert_eq!(deliveries.len(), a + b);
    let mut seen = BTreeSet::new();
    for delivery in &deliveries {
        assert!(
            seen.insert(delivery.recipient.clone()),
            "{} twice",
            delivery.recipient
        );
        let text = delivery.body[0]["MsgContent"]["Text"].as_str().unwrap();
        let expected = match groups[&delivery.recipient].as_str() {
            "a" => format!("Hi N{}, 20% off this week", delivery.recipient),
            "b" => format!("Hi N{}, free shipping this week", delivery.recipient),
            other => panic!("{} is {other} and was sent {text}", delivery.recipient),
        };
        assert_eq!(text, expected);
    }

    // Planned again: nothing moves, nothing to send, the holdout still counted.
    let plan = timcast(
        dir.path(),
        &sandbox,
        &["plan", "campaign.yaml", "--format", "json"],
    )
    .await
    .expect_code(0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(plan["pending"], 0);
    assert_eq!(plan["states"]["held_out"], held_out);
    assert_eq!(plan["variants"][0]["name"], "a");
    assert_eq!(plan["variants"][0]["recipients"], a);
    assert_eq!(plan["variants"][1]["recipients"], b);

    // The report compares the variants with the control group.
    let report = timcast(
        dir.path(),
        &sandbox,
        &["report", "campaign.yaml", "--format", "text"],
    )
    .await
    .expect_code(0);
    assert!(
        report
            .stdout
            .contains(&format!("  a: {a} recipients, {a} sent")),
        "{}",
        report.stdout
    );
    assert!(
        report
            .stdout
            .contains(&format!("  held out: {held_out} recipients, 0 sent")),
        "{}",
        report.stdout
    );

    // The CSV shuffled, a fresh journal and a fresh server: the same assignment.
    let other = self::sandbox().await;
    let fresh = tempfile::tempdir().unwrap();
    let mut shuffled = ids.clone();
    shuffled.reverse();
    shuffled.rotate_left(777);
    write_campaign(fresh.path(), AB_TEST, &shuffled);
    timcast(fresh.path(), &other, &["apply", "--yes", "campaign.yaml"])
        .await
        .expect_code(0);
    assert_eq!(assignment(fresh.path(), &other).await, groups);
}

const LOCALES: &str = r#"version: 1
name: hello-locales
audience:
  csv: users.csv
  locale_column: locale
message:
  - text: "Hello {{first_name}}"
push:
  title: "News"
locales:
  zh:
    message: [ { text: "你好 {{first_name}}" } ]
    push: { title: "新闻" }
  zh-Hant:
    message: [ { text: "您好 {{first_name}}" } ]
  pt-BR:
    message: [ { text: "Olá {{first_name}}" } ]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locale_falls_back_by_prefix_to_the_default() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.csv"),
        "user_id,first_name,locale\n\
         tw,Mei,zh-Hant-TW\ncn,Wei,zh-CN\nzh,Li,zh\nfr,Anne,fr\nbr,Ana,pt_BR\npt,Rui,pt\nnone,Bo,\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("campaign.yaml"), LOCALES).unwrap();
    timcast(dir.path(), &sandbox, &["apply", "--yes", "campaign.yaml"])
        .await
        .expect_code(0);
    let got = |user: &str| {
        let d = sandbox.deliveries_to(user);
        assert_eq!(d.len(), 1, "{user}: {d:?}");
        d[0].body[0]["MsgContent"]["Text"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(got("tw"), "您好 Mei", "zh-Hant-TW falls back to zh-Hant");
    assert_eq!(got("cn"), "你好 Wei", "zh-CN falls back to zh");
    assert_eq!(got("zh"), "你好 Li");
    assert_eq!(
        got("fr"),
        "Hello Anne",
        "fr has no translation: the default"
    );
    assert_eq!(got("br"), "Olá Ana", "pt_BR reads as pt-BR");
    assert_eq!(
        got("pt"),
        "Hello Rui",
        "pt-BR is no translation for plain pt"
    );
    assert_eq!(got("none"), "Hello Bo");
    // A translation without its own push keeps the default push (the request `preview` shows).
    for (user, title) in [("cn", "新闻"), ("tw", "News"), ("fr", "News")] {
        let out = timcast(
            dir.path(),
            &sandbox,
            &["preview", "campaign.yaml", "--recipient", user, "--json"],
        )
        .await
        .expect_code(0);
        let request: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(request["OfflinePushInfo"]["Title"], title, "{user}");
    }

    let plan = timcast(
        dir.path(),
        &sandbox,
        &["plan", "campaign.yaml", "--format", "json"],
    )
    .await
    .expect_code(0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let used: BTreeMap<String, u64> = plan["locales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["locale"].as_str().unwrap().to_owned(),
                l["recipients"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: BTreeMap<String, u64> = [("default", 3), ("zh", 2), ("zh-Hant", 1), ("pt-BR", 1)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(used, expected);
}

/// `timcast validate` of `campaign` beside a CSV with a `locale` column.
fn validate(campaign: &str) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.csv"),
        "user_id,first_name,locale\nu1,Ada,en\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("campaign.yaml"), campaign).unwrap();
    Session::new()
        .current_dir(dir.path())
        .args(["validate", "campaign.yaml"])
        .run()
}

#[test]
fn mistakes_in_variants_and_locales_are_located() {
    // A variable unknown to the variant's own message, at its line and column.
    let out = validate(&AB_TEST.replace("free shipping", "{{shiping}}"));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("campaign.yaml:16:37: the template uses `shiping`, which is neither"),
        "{}",
        out.stdout
    );
    // Two variants of one name; a holdout over 100%.
    let out = validate(
        &AB_TEST
            .replace("name: b", "name: a")
            .replace("holdout: 10%", "holdout: 110%"),
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("campaign.yaml:13:11: two variants are named `a`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("campaign.yaml:17:10: `110%` is not between 0% and 100%"),
        "{}",
        out.stdout
    );
    // Translations without the column that picks them; then a column the CSV lacks.
    let out = validate(&LOCALES.replace("  locale_column: locale\n", ""));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("`locales` needs the column that holds each recipient's locale"),
        "{}",
        out.stdout
    );
    let out = validate(&LOCALES.replace("locale_column: locale", "locale_column: lang"));
    assert!(
        out.stdout
            .contains("campaign.yaml:5:18: the audience CSV has no column `lang`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("its columns are: user_id, first_name, locale"),
        "{}",
        out.stdout
    );
    // A key that is no language tag; a translation's push checked like the campaign's.
    let out = validate(&LOCALES.replace("pt-BR:", "pt_BR:").replace(
        "push: { title: \"新闻\" }",
        "push: { title: \"新闻\", android: { huawei_image: \"http://x\" } }",
    ));
    assert!(
        out.stdout.contains("`pt_BR` is not a BCP 47 language tag"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("campaign.yaml:13:"), "{}", out.stdout);
    // One message for every subscriber: an official account cannot be split.
    let official = "version: 1\nname: oa\naudience:\n  official_account: \"@TOA#news\"\nmessage:\n  - text: hi\nholdout: 5%\n";
    let out = validate(official);
    assert!(
        out.stdout
            .contains("campaign.yaml:7:10: `holdout` does not work with an official account"),
        "{}",
        out.stdout
    );
}

#[test]
fn plans_show_variants_the_holdout_and_locales_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("user_id,first_name,locale\n");
    for i in 0..40 {
        let locale = ["zh-Hant-TW", "fr", "zh", "pt-BR"][i % 4];
        csv.push_str(&format!("u{i},N{i},{locale}\n"));
    }
    std::fs::write(dir.path().join("users.csv"), csv).unwrap();
    let campaign = AB_TEST.replace(
        "  csv: users.csv\n",
        "  csv: users.csv\n  locale_column: locale\n",
    ) + "locales:\n  zh:\n    message: [ { text: \"你好 {{first_name}}, {{offer}}\" } ]\n";
    std::fs::write(dir.path().join("campaign.yaml"), campaign).unwrap();
    for format in ["text", "markdown", "json"] {
        let out = Session::new()
            .current_dir(dir.path())
            .args(["plan", "campaign.yaml", "--format", format])
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        insta::assert_snapshot!(format!("variants_{format}"), out.stdout);
    }
}
