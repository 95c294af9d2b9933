//! A project as a team lays it out: `timcast.toml` at the root, shared partials under
//! `templates/`, data under `data/`, campaigns under `campaigns/` reading `../data/…` and
//! including `{{> footer}}`. Validated, planned in every format and applied against the
//! sandbox as a user runs them; paths out of the project, unknown partials, mistakes inside a
//! partial and a secret key in `timcast.toml` refused with their place.

#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::path::PathBuf;

use crate::common::{self, Outcome, Session};

const CAMPAIGN: &str = r#"version: 1
name: spring
audience:
  csv: ../data/users.csv
vars:
  offer: "20% off"
message:
  - text: "Hi {{first_name}}, {{offer}} this week.{{> footer shop=\"Acme\"}}"
"#;

/// A scratch project: `timcast.toml`, two partials, a CSV and one campaign.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let project = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        project.write("timcast.toml", "# the project's root\n");
        project.write(
            "templates/footer.hbs",
            "\n-- {{shop}} for {{first_name}}\n{{> legal/unsubscribe}}\n",
        );
        project.write(
            "templates/legal/unsubscribe.hbs",
            "Reply STOP to opt out.\n",
        );
        project.write(
            "data/users.csv",
            "user_id,first_name\nu1,Ada\nu2,Grace\nu3,Alan\n",
        );
        project.write("campaigns/spring.yaml", CAMPAIGN);
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

    /// Rewrites the campaign with `from` replaced by `to`.
    fn edit_campaign(&self, from: &str, to: &str) {
        let path = self.path("campaigns/spring.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from} is not in the campaign");
        std::fs::write(path, text.replace(from, to)).unwrap();
    }

    /// timcast run from the project's root, none of the developer's settings.
    fn timcast(&self, args: &[&str]) -> Outcome {
        Session::new().current_dir(self.dir.path()).args(args).run()
    }

    fn plan_json(&self) -> serde_json::Value {
        let out = self.timcast(&["plan", "campaigns/spring.yaml", "--format", "json"]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        serde_json::from_str(&out.stdout).unwrap()
    }
}

fn first_line(out: &Outcome) -> &str {
    out.stdout.lines().next().unwrap_or_default()
}

#[test]
fn a_campaign_reads_shared_data_and_partials_from_the_project() {
    let p = Project::new();
    let out = p.timcast(&["validate", "campaigns/spring.yaml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("campaigns/spring.yaml: valid"));

    let plan = p.plan_json();
    assert_eq!(plan["audience"]["recipients"], 3);
    let previews = plan["previews"].as_array().unwrap();
    assert_eq!(
        previews[0]["text"],
        "Hi Ada, 20% off this week.\n-- Acme for Ada\nReply STOP to opt out."
    );
}

#[test]
fn apply_delivers_the_partials_text() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (config, _clock) = common::config();
    let sandbox = runtime.block_on(common::start(config));
    let p = Project::new();
    let out = Session::new()
        .current_dir(p.dir.path())
        .sandbox(&sandbox)
        .args(["apply", "campaigns/spring.yaml", "--yes"])
        .run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let got = sandbox.deliveries_to("u2");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0].body[0]["MsgContent"]["Text"],
        "Hi Grace, 20% off this week.\n-- Acme for Grace\nReply STOP to opt out."
    );
    assert_eq!(sandbox.deliveries().len(), 3);

    // The shared footer edited: every recipient's message changed, the plan says so.
    p.write(
        "templates/legal/unsubscribe.hbs",
        "Reply STOP to unsubscribe.\n",
    );
    let out = p.timcast(&["plan", "campaigns/spring.yaml"]);
    assert!(
        out.stdout.contains("~         3  changed"),
        "{}",
        out.stdout
    );
}

#[test]
fn apply_sandbox_runs_the_project_offline() {
    let p = Project::new();
    let out = p.timcast(&["apply", "--sandbox", "campaigns/spring.yaml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("failed 0, uncertain 0"),
        "{}",
        out.stdout
    );
    assert!(p.path(".timcast").is_dir(), "the journal is at the root");
}

#[test]
fn a_path_out_of_the_project_is_refused_where_it_is_written() {
    let p = Project::new();
    p.edit_campaign("../data/users.csv", "../../etc/passwd");
    let out = p.timcast(&["validate", "campaigns/spring.yaml"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        first_line(&out).starts_with(
            "error: campaigns/spring.yaml:4:8: `../../etc/passwd` points outside the project root . (the directory of timcast.toml)"
        ),
        "{}",
        out.stdout
    );

    #[cfg(unix)]
    {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("leak.csv"), "user_id\nu9\n").unwrap();
        std::os::unix::fs::symlink(outside.path().join("leak.csv"), p.path("data/leak.csv"))
            .unwrap();
        p.edit_campaign("../../etc/passwd", "../data/leak.csv");
        let out = p.timcast(&["validate", "campaigns/spring.yaml"]);
        assert_eq!(out.code, 1, "{}", out.stdout);
        assert!(
            first_line(&out).contains("spring.yaml:4:8: `../data/leak.csv` points outside"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn an_unknown_partial_is_located_with_a_suggestion() {
    let p = Project::new();
    p.edit_campaign("{{> footer", "{{> foter");
    let out = p.timcast(&["validate", "campaigns/spring.yaml"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        first_line(&out).starts_with("error: campaigns/spring.yaml:8:55: unknown partial `foter`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("help: did you mean `footer`?"),
        "{}",
        out.stdout
    );
}

#[test]
fn mistakes_inside_a_partial_are_located_in_its_own_file() {
    let p = Project::new();
    // A variable the CSV does not have: the partial's file, its line and column.
    p.write(
        "templates/footer.hbs",
        "\n-- {{shop}}\nSee you, {{frist_name}}\n",
    );
    let out = p.timcast(&["validate", "campaigns/spring.yaml"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        first_line(&out).starts_with(
            "error: templates/footer.hbs:3:12: the partial `footer` uses `frist_name`, which is neither a CSV column nor a var"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("did you mean `first_name`?"),
        "{}",
        out.stdout
    );

    // Its parameter is known inside it only when the call passes it.
    p.write("templates/footer.hbs", "-- {{shop}}\n");
    p.edit_campaign("{{> footer shop=\\\"Acme\\\"}}", "{{> footer}}");
    let out = p.timcast(&["validate", "campaigns/spring.yaml"]);
    assert!(
        first_line(&out)
            .starts_with("error: templates/footer.hbs:1:6: the partial `footer` uses `shop`"),
        "{}",
        out.stdout
    );

    // A syntax error in a nested partial.
    p.write("templates/footer.hbs", "{{> legal/unsubscribe}}\n");
    p.write("templates/legal/unsubscribe.hbs", "Reply\n{{#if x}}STOP\n");
    let out = p.timcast(&["validate", "campaigns/spring.yaml"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        first_line(&out).starts_with("error: templates/legal/unsubscribe.hbs:2:")
            && first_line(&out).contains("the partial `legal/unsubscribe` does not compile"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_secret_key_in_the_project_file_is_refused_and_never_printed() {
    let p = Project::new();
    p.write(
        "timcast.toml",
        "[app]\nsdkappid = 1400000001\nsecret = \"s3cr3t-value-never-shown\"\n",
    );
    let out = p.timcast(&["validate", "campaigns/spring.yaml"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.starts_with(
            "error: timcast.toml:3:1: timcast.toml must not hold the secret key (`secret`)"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("TIM_SECRET_KEY"), "{}", out.stdout);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(!all.contains("s3cr3t"), "{all}");
}

#[test]
fn delivery_defaults_apply_unless_the_campaign_sets_its_own() {
    let p = Project::new();
    p.write("timcast.toml", "[delivery]\nrate = 4\nbatch = \"off\"\n");
    let plan = p.plan_json();
    // Three sends, one call each (batch off) at 4 calls a second.
    assert_eq!(plan["calls"]["send_msg"]["calls"], 3, "{plan}");
    assert_eq!(plan["estimated_seconds"], 0.75, "{plan}");

    p.edit_campaign("vars:", "delivery:\n  rate: 2\nvars:");
    let plan = p.plan_json();
    assert_eq!(
        plan["calls"]["send_msg"]["calls"], 3,
        "batch off still: {plan}"
    );
    assert_eq!(plan["estimated_seconds"], 1.5, "{plan}");

    p.write("timcast.toml", "[delivery]\nrat = 4\n");
    let out = p.timcast(&["validate", "campaigns/spring.yaml"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .starts_with("error: timcast.toml:2:1: unknown key `rat` in timcast.toml"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("did you mean `rate`?"),
        "{}",
        out.stdout
    );
}

#[test]
fn app_defaults_are_used_and_the_environment_overrides_them() {
    use timcast::im::settings::{DEMO_SDKAPPID, DEMO_SECRET_KEY};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (config, _clock) = common::config();
    let sandbox = runtime.block_on(common::start(config));
    let p = Project::new();
    // Only the endpoint and the key outside the project: the app comes from timcast.toml.
    p.write(
        "timcast.toml",
        &format!(
            "[app]\nsdkappid = {DEMO_SDKAPPID}\nadmin = \"{}\"\n",
            common::ADMIN
        ),
    );
    let out = Session::new()
        .current_dir(p.dir.path())
        .endpoint(sandbox.base_url())
        .secret(DEMO_SECRET_KEY)
        .args(["apply", "campaigns/spring.yaml", "--yes"])
        .run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(sandbox.deliveries().len(), 3);

    // A wrong SDKAppID in the project is what the app would use...
    p.write("timcast.toml", "[app]\nsdkappid = 1400000999\n");
    p.edit_campaign("name: spring", "name: spring-2");
    let out = Session::new()
        .current_dir(p.dir.path())
        .endpoint(sandbox.base_url())
        .secret(DEMO_SECRET_KEY)
        .admin(common::ADMIN)
        .args(["apply", "campaigns/spring.yaml", "--yes"])
        .run();
    assert_ne!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(sandbox.deliveries().len(), 3, "nothing more was sent");
    // ...unless the environment says otherwise.
    let out = Session::new()
        .current_dir(p.dir.path())
        .sandbox(&sandbox)
        .args(["apply", "campaigns/spring.yaml", "--yes"])
        .run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(sandbox.deliveries().len(), 6);
}

#[test]
fn state_in_the_project_file_puts_the_journal_there() {
    let p = Project::new();
    p.write("timcast.toml", "state = \"journal/team.db\"\n");
    let plan = p.plan_json();
    assert_eq!(plan["journal"]["path"], "journal/team.db", "{plan}");
    let out = p.timcast(&["apply", "--sandbox", "campaigns/spring.yaml"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        p.path("journal").is_dir() && !p.path(".timcast").exists(),
        "{:?}",
        std::fs::read_dir(p.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>()
    );
    // --state still wins.
    let elsewhere = p.path("other.db");
    let out = Session::new()
        .current_dir(p.dir.path())
        .args([
            "plan",
            "campaigns/spring.yaml",
            "--format",
            "json",
            "--state",
        ])
        .arg(&elsewhere)
        .run();
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["journal"]["path"], "other.db", "{plan}");
}

#[test]
fn plan_of_a_campaign_with_partials_in_every_format() {
    let p = Project::new();
    for format in ["text", "markdown", "json"] {
        let out = Session::new()
            .current_dir(p.dir.path())
            .now("2026-11-26T00:00:00Z")
            .args(["plan", "campaigns/spring.yaml", "--format", format])
            .run();
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
        insta::assert_snapshot!(format!("partials_{format}"), out.stdout);
    }
}

#[test]
fn a_changed_partial_makes_a_saved_plan_stale_and_shows_in_the_git_diff() {
    let p = Project::new();
    let git = |args: &[&str]| common::git(p.dir.path(), args);
    git(&["init", "-q", "."]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "first"]);
    let out = p.timcast(&[
        "plan",
        "--sandbox",
        "campaigns/spring.yaml",
        "--out",
        "reviewed.plan",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

    p.write("templates/legal/unsubscribe.hbs", "Reply STOP to leave.\n");
    let out = p.timcast(&["apply", "--sandbox", "--yes", "reviewed.plan"]);
    assert_ne!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("is stale: partial templates/legal/unsubscribe.hbs changed"),
        "{all}"
    );

    let out = p.timcast(&[
        "plan",
        "campaigns/spring.yaml",
        "--against-git",
        "HEAD",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let changes = plan.to_string();
    assert!(changes.contains("partial legal/unsubscribe"), "{changes}");
    assert!(changes.contains("Reply STOP to leave."), "{changes}");
    assert!(!changes.contains("partial footer"), "unchanged: {changes}");
}
