//! The whole loop as an ops user runs it against the sandbox: plan (sends pending) → apply →
//! plan (nothing to send) → rows added to the CSV → plan shows exactly those → apply sends only
//! them; and saved plans applied once, refused when stale or reused.

#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use crate::common::{self, Outcome, Session};

use timcast::sandbox::{Sandbox, SandboxConfig, SandboxHandle};

/// A scratch copy of the examples and a sandbox knowing their chatbot.
struct Demo {
    dir: tempfile::TempDir,
    sandbox: SandboxHandle,
    _runtime: tokio::runtime::Runtime,
}

impl Demo {
    fn new() -> Demo {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mut config = SandboxConfig::demo();
        config.directory.add("@RBT#welcome_bot");
        let sandbox = runtime.block_on(Sandbox::start(config)).unwrap();
        Demo {
            dir: common::workspace(),
            sandbox,
            _runtime: runtime,
        }
    }

    /// Runs timcast in the scratch directory against the sandbox.
    fn timcast(&self, args: &[&str]) -> Outcome {
        Session::new()
            .current_dir(self.dir.path())
            .sandbox(&self.sandbox)
            .args(args)
            .run()
    }

    fn delivered_to(&self) -> Vec<String> {
        let mut to: Vec<String> = self
            .sandbox
            .deliveries()
            .into_iter()
            .map(|d| d.recipient)
            .collect();
        to.sort();
        to
    }

    fn add_rows(&self, rows: &str) {
        let csv = self.dir.path().join("campaigns/data/new-users.csv");
        let mut text = std::fs::read_to_string(&csv).unwrap();
        text.push_str(rows);
        std::fs::write(csv, text).unwrap();
    }
}

#[test]
fn plan_apply_plan_then_only_the_new_rows() {
    let s = Demo::new();
    let campaign = "campaigns/welcome.yaml";
    let Outcome { code, stdout, .. } = s.timcast(&["plan", campaign, "--detailed-exitcode"]);
    assert_eq!(code, 2, "8 sends pending: {stdout}");

    let Outcome {
        code,
        stdout,
        stderr,
    } = s.timcast(&["apply", campaign, "--yes"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(s.delivered_to().len(), 8);

    let Outcome { code, stdout, .. } = s.timcast(&["plan", campaign, "--detailed-exitcode"]);
    assert_eq!(code, 0, "everything was sent: {stdout}");
    assert!(stdout.contains("=         8  already sent"), "{stdout}");

    s.add_rows(
        "u1009,Niklaus,Zurich,WELCOME-AAAA,2026-11-24\nu1010,Tony,Oxford,WELCOME-BBBB,2026-11-24\n",
    );
    let Outcome { code, stdout, .. } = s.timcast(&["plan", campaign, "--detailed-exitcode"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.contains("+         2  send") && stdout.contains("=         8  already sent"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ u1009 (row 10)") && stdout.contains("+ u1010 (row 11)"),
        "{stdout}"
    );

    let Outcome {
        code,
        stdout,
        stderr,
    } = s.timcast(&["apply", campaign, "--yes"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let delivered = s.delivered_to();
    assert_eq!(
        delivered.len(),
        10,
        "only the two new rows were sent: {delivered:?}"
    );
    assert_eq!(
        delivered
            .iter()
            .filter(|to| to.as_str() == "u1009" || to.as_str() == "u1010")
            .count(),
        2
    );
    let Outcome { code, .. } = s.timcast(&["plan", campaign, "--detailed-exitcode"]);
    assert_eq!(code, 0);
}

#[test]
fn a_saved_plan_is_applied_once_and_refused_when_stale() {
    let s = Demo::new();
    let Outcome { code, stderr, .. } =
        s.timcast(&["plan", "campaigns/welcome.yaml", "--out", "reviewed.plan"]);
    assert_eq!(code, 0, "{stderr}");
    let Outcome {
        code,
        stdout,
        stderr,
    } = s.timcast(&["apply", "reviewed.plan", "--yes"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(s.delivered_to().len(), 8);

    let Outcome { code, stderr, .. } = s.timcast(&["apply", "reviewed.plan", "--yes"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("was already applied; a plan can be applied once"),
        "{stderr}"
    );

    s.add_rows("u1009,Niklaus,Zurich,WELCOME-AAAA,2026-11-24\n");
    let Outcome { code, .. } = s.timcast(&["plan", "campaigns/welcome.yaml", "--out", "next.plan"]);
    assert_eq!(code, 0);
    s.add_rows("u1010,Tony,Oxford,WELCOME-BBBB,2026-11-24\n");
    let Outcome { code, stderr, .. } = s.timcast(&["apply", "next.plan", "--yes"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "is stale: audience.csv campaigns/data/new-users.csv changed since it was made"
        ),
        "{stderr}"
    );
    assert_eq!(s.delivered_to().len(), 8, "nothing sent from a stale plan");
}
