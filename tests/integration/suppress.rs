//! A project-wide suppression list: `suppress = ["data/unsubscribed.csv"]` in `timcast.toml`
//! takes its users off every CSV campaign of the project, counted apart from a campaign's own
//! `audience.exclude`; a missing list, one without the campaign's user ID column and a path
//! out of the project are refused where timcast.toml names them.

#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::common::{self, Outcome, Session};

const PROJECT_FILE: &str = "# the project's root\nsuppress = [\"data/unsubscribed.csv\"]\n";

/// The users the project suppresses: u0 … u9 of u0 … u99.
const SUPPRESSED: std::ops::Range<usize> = 0..10;

/// A project with a 100-user CSV, a 10-user project list and two campaigns reading the CSV.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let project = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        project.write("timcast.toml", PROJECT_FILE);
        let users: String = (0..100).map(|i| format!("u{i},Name{i}\n")).collect();
        project.write("data/users.csv", &format!("user_id,first_name\n{users}"));
        let suppressed: String = SUPPRESSED.map(|i| format!("u{i}\n")).collect();
        project.write("data/unsubscribed.csv", &format!("user_id\n{suppressed}"));
        for name in ["spring", "autumn"] {
            project.write(
                &format!("campaigns/{name}.yaml"),
                &format!(
                    "version: 1\nname: {name}\naudience:\n  csv: ../data/users.csv\nmessage:\n  - text: \"{name} sale, {{{{first_name}}}}\"\n"
                ),
            );
        }
        project
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// timcast run from the project's root, none of the developer's settings.
    fn timcast(&self, args: &[&str]) -> Outcome {
        Session::new().current_dir(self.dir.path()).args(args).run()
    }

    fn plan_json(&self, campaign: &str) -> serde_json::Value {
        let out = self.timcast(&["plan", campaign, "--format", "json"]);
        assert_eq!(out.code, 0, "{}", out.text());
        serde_json::from_str(&out.stdout).unwrap()
    }
}

fn first_line(out: &Outcome) -> &str {
    out.stdout.lines().next().unwrap_or_default()
}

#[test]
fn every_campaign_of_the_project_leaves_out_the_project_list() {
    let p = Project::new();
    for campaign in ["campaigns/spring.yaml", "campaigns/autumn.yaml"] {
        let out = p.timcast(&["validate", campaign]);
        assert_eq!(out.code, 0, "{}", out.text());
        let plan = p.plan_json(campaign);
        let audience = &plan["audience"];
        assert_eq!(audience["rows"], 100, "{plan}");
        assert_eq!(audience["recipients"], 90, "{plan}");
        assert_eq!(audience["suppressed"], 10, "{plan}");
        assert_eq!(audience["excluded"], 0, "apart from the campaign's: {plan}");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (config, _clock) = common::config();
    let sandbox = runtime.block_on(common::start(config));
    let expected: BTreeSet<String> = (10..100).map(|i| format!("u{i}")).collect();
    for name in ["spring", "autumn"] {
        let out = Session::new()
            .current_dir(p.dir.path())
            .sandbox(&sandbox)
            .args(["apply", &format!("campaigns/{name}.yaml"), "--yes"])
            .run();
        assert_eq!(out.code, 0, "{}", out.text());
        // What the sandbox received for this campaign: each of the other 90, once.
        let received: Vec<String> = sandbox
            .deliveries()
            .into_iter()
            .filter(|d| {
                d.body[0]["MsgContent"]["Text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(&format!("{name} sale")))
            })
            .map(|d| d.recipient)
            .collect();
        assert_eq!(received.len(), 90, "{name}: {received:?}");
        assert_eq!(
            received.into_iter().collect::<BTreeSet<_>>(),
            expected,
            "{name}"
        );

        // The journal agrees: 90 recorded, the 10 counted as excluded, nobody left to send.
        let out = p.timcast(&[
            "report",
            &format!("campaigns/{name}.yaml"),
            "--format",
            "json",
        ]);
        assert_eq!(out.code, 0, "{}", out.text());
        let journaled: BTreeSet<String> = out
            .stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|r| r["user_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(journaled, expected, "{name}");
        let out = p.timcast(&[
            "report",
            &format!("campaigns/{name}.yaml"),
            "--format",
            "markdown",
        ]);
        assert!(
            out.stdout
                .contains("Not in the audience: 10 on a suppression list"),
            "{}",
            out.text()
        );
        let plan = p.plan_json(&format!("campaigns/{name}.yaml"));
        assert_eq!(plan["pending"], 0, "{plan}");
    }
    assert_eq!(sandbox.deliveries().len(), 180);
    for i in SUPPRESSED {
        assert!(sandbox.deliveries_to(&format!("u{i}")).is_empty(), "u{i}");
    }
}

#[test]
fn a_recipient_on_both_lists_counts_once_as_the_campaigns() {
    let p = Project::new();
    // u5 is on both lists, u50 only on the campaign's.
    p.write("data/vip-optout.csv", "user_id\nu5\nu50\n");
    p.write(
        "campaigns/spring.yaml",
        "version: 1\nname: spring\naudience:\n  csv: ../data/users.csv\n  exclude: [../data/vip-optout.csv]\nmessage:\n  - text: \"Hi\"\n",
    );
    let plan = p.plan_json("campaigns/spring.yaml");
    let audience = &plan["audience"];
    assert_eq!(audience["excluded"], 2, "{plan}");
    assert_eq!(audience["suppressed"], 9, "{plan}");
    assert_eq!(audience["recipients"], 89, "{plan}");

    // preview says a suppressed recipient would not get it.
    let out = p.timcast(&["preview", "campaigns/autumn.yaml", "--recipient", "u3"]);
    assert_eq!(out.code, 0, "{}", out.text());
    assert!(
        out.text()
            .contains("u3 is on a suppression list (the project's, timcast.toml suppress)"),
        "{}",
        out.text()
    );
    let out = p.timcast(&["preview", "campaigns/autumn.yaml", "--recipient", "u30"]);
    assert!(!out.text().contains("suppression list"), "{}", out.text());
}

#[test]
fn an_official_account_campaign_ignores_the_project_list() {
    let p = Project::new();
    p.write(
        "campaigns/news.yaml",
        "version: 1\nname: news\naudience:\n  official_account: \"@TOA#news\"\nmessage:\n  - text: \"Today's news\"\n",
    );
    // Even a broken list: it cannot apply to a broadcast, so it is not checked for one.
    std::fs::remove_file(p.path("data/unsubscribed.csv")).unwrap();
    let out = p.timcast(&["validate", "campaigns/news.yaml"]);
    assert_eq!(out.code, 0, "{}", out.text());
    let plan = p.plan_json("campaigns/news.yaml");
    assert_eq!(plan["audience"]["suppressed"], 0, "{plan}");
}

#[test]
fn a_missing_list_is_located_in_timcast_toml() {
    let p = Project::new();
    std::fs::remove_file(p.path("data/unsubscribed.csv")).unwrap();
    for campaign in ["campaigns/spring.yaml", "campaigns/autumn.yaml"] {
        let out = p.timcast(&["validate", campaign]);
        assert_eq!(out.code, 1, "{}", out.text());
        assert_eq!(
            first_line(&out),
            "error: timcast.toml:2:13: suppression list `data/unsubscribed.csv` (timcast.toml `suppress`) does not exist",
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains("relative to the project root"),
            "{}",
            out.stdout
        );
        // plan and apply refuse it too, before anything is sent.
        let out = p.timcast(&["plan", campaign]);
        assert_eq!(out.code, 1, "{}", out.text());
        assert!(out.text().contains("timcast.toml:2:13"), "{}", out.text());
    }
}

#[test]
fn a_list_without_the_user_id_column_is_located_in_timcast_toml() {
    let p = Project::new();
    p.write("data/unsubscribed.csv", "uid\nu1\n");
    let out = p.timcast(&["validate", "campaigns/spring.yaml"]);
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        first_line(&out).starts_with(
            "error: timcast.toml:2:13: suppression list `data/unsubscribed.csv` (timcast.toml `suppress`) has no column `user_id`"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("its columns are: uid"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_list_outside_the_project_is_refused() {
    let p = Project::new();
    // A real file next to the project, so that only the path is wrong.
    std::fs::create_dir(p.path("project")).unwrap();
    common::copy_dir(&p.path("data"), &p.path("project/data"));
    common::copy_dir(&p.path("campaigns"), &p.path("project/campaigns"));
    std::fs::write(p.path("outside.csv"), "user_id\nu1\n").unwrap();
    std::fs::write(
        p.path("project/timcast.toml"),
        "suppress = [\"data/unsubscribed.csv\", \"../outside.csv\"]\n",
    )
    .unwrap();
    let out = Session::new()
        .current_dir(p.path("project"))
        .args(["validate", "campaigns/spring.yaml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        first_line(&out).starts_with(
            "error: timcast.toml:1:38: suppression list `../outside.csv` (timcast.toml `suppress`) points outside the project root"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn a_changed_list_makes_a_saved_plan_stale() {
    let p = Project::new();
    let out = p.timcast(&[
        "plan",
        "--sandbox",
        "campaigns/spring.yaml",
        "--out",
        "reviewed.plan",
    ]);
    assert_eq!(out.code, 0, "{}", out.text());
    // Someone unsubscribed after the review.
    p.write("data/unsubscribed.csv", "user_id\nu0\nu42\n");
    let out = p.timcast(&["apply", "--sandbox", "--yes", "reviewed.plan"]);
    assert_ne!(out.code, 0, "{}", out.text());
    assert!(
        out.text()
            .contains("is stale: suppress data/unsubscribed.csv changed"),
        "{}",
        out.text()
    );
}

#[test]
fn plans_show_the_suppressed_count_in_every_format() {
    let p = Project::new();
    for format in ["text", "markdown", "json"] {
        let out = Session::new()
            .current_dir(p.dir.path())
            .now("2026-11-26T00:00:00Z")
            .args(["plan", "campaigns/spring.yaml", "--format", format])
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        insta::assert_snapshot!(format!("suppressed_{format}"), out.stdout);
    }
}

#[test]
fn plan_against_git_reads_the_project_list_as_it_was() {
    let p = Project::new();
    let git = |args: &[&str]| common::git(p.dir.path(), args);
    git(&["init", "-q", "."]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "first"]);
    // Ten more unsubscribed since: the old campaign reached them, the new one does not.
    let more: String = (0..20).map(|i| format!("u{i}\n")).collect();
    p.write("data/unsubscribed.csv", &format!("user_id\n{more}"));
    let out = p.timcast(&[
        "plan",
        "campaigns/spring.yaml",
        "--against-git",
        "HEAD",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.text());
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["audience"]["suppressed"], 20, "{plan}");
    assert_eq!(plan["changes"]["audience"]["removed"], 10, "{plan}");
}
