//! Regressions of where the journal is (issue 12, item 3): the default journal is the project's
//! (the directory of timcast.toml, else the Git work tree's root, else the campaign's
//! directory), never the working directory's, and `plan` says which journal it read.

use crate::common::{CampaignWriter, timcast, workspace};

#[test]
fn the_default_journal_is_the_projects_whatever_the_working_directory() {
    let dir = workspace();
    let root = dir.path();
    timcast(root, &["apply", "--sandbox", "campaigns/welcome.yaml"]).expect_code(0);
    std::fs::create_dir(root.join("elsewhere")).unwrap();
    for (cwd, campaign) in [
        (root.to_owned(), "campaigns/welcome.yaml"),
        (root.join("campaigns"), "welcome.yaml"),
        (root.join("campaigns/data"), "../welcome.yaml"),
        (root.join("elsewhere"), "../campaigns/welcome.yaml"),
    ] {
        let out = timcast(
            &cwd,
            &["plan", "--sandbox", campaign, "--detailed-exitcode"],
        );
        assert_eq!(out.code, 0, "from {}: {}", cwd.display(), out.text());
        assert!(
            out.stdout
                .starts_with("Plan: welcome-2026-11: nothing to send (8 already sent)"),
            "from {}: {}",
            cwd.display(),
            out.stdout
        );
        assert!(
            out.stdout.contains("sandbox.db (8 recipients recorded)"),
            "{}",
            out.stdout
        );
    }
    assert!(root.join(".timcast/sandbox.db").is_file());
    assert!(!root.join("campaigns/.timcast").exists());
}

#[test]
fn without_a_project_file_the_git_work_trees_root_holds_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let git = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(git.success());
    let campaigns = dir.path().join("campaigns");
    std::fs::create_dir(&campaigns).unwrap();
    CampaignWriter::new(&campaigns, "hello")
        .recipients(3)
        .text("Hello {{first_name}}")
        .write();
    timcast(&campaigns, &["apply", "--sandbox", "hello.yaml"]).expect_code(0);
    assert!(dir.path().join(".timcast/sandbox.db").is_file());
    let out = timcast(dir.path(), &["plan", "--sandbox", "campaigns/hello.yaml"]).expect_code(0);
    assert!(
        out.stdout.contains("nothing to send (3 already sent)"),
        "{}",
        out.stdout
    );
}

#[test]
fn plan_says_loudly_when_the_journal_it_read_is_new() {
    let dir = workspace();
    let out = timcast(dir.path(), &["plan", "campaigns/welcome.yaml"]).expect_code(0);
    assert!(
        out.stdout.contains(
            "Journal:  .timcast/state.db: NEW, nothing was ever recorded there, so every \
             recipient counts as unsent"
        ),
        "{}",
        out.stdout
    );
    let markdown = timcast(
        dir.path(),
        &["plan", "campaigns/welcome.yaml", "--format", "markdown"],
    )
    .expect_code(0);
    assert!(
        markdown.stdout.contains("Journal: .timcast/state.db: NEW"),
        "{}",
        markdown.stdout
    );
}

#[test]
fn a_journal_at_the_former_default_under_the_working_directory_is_not_ignored() {
    let dir = workspace();
    let ops = dir.path().join("ops");
    std::fs::create_dir(&ops).unwrap();
    // Applied the way the old default worked: the journal under the working directory.
    timcast(
        &ops,
        &[
            "apply",
            "--sandbox",
            "--state",
            ".timcast/state.db",
            "../campaigns/welcome.yaml",
        ],
    )
    .expect_code(0);
    assert!(ops.join(".timcast/sandbox.db").is_file());
    for command in ["plan", "apply", "report"] {
        let out = timcast(&ops, &[command, "--sandbox", "../campaigns/welcome.yaml"]);
        assert_eq!(out.code, 1, "{command}: {}", out.text());
        assert!(
            out.stderr.contains("has no records in its journal")
                && out.stderr.contains(".timcast/sandbox.db has them")
                && out.stderr.contains("--state .timcast/sandbox.db"),
            "{command}: {}",
            out.stderr
        );
    }
    // Nothing was sent twice: the project's journal was never created.
    assert!(!dir.path().join(".timcast/sandbox.db").exists());
}

#[test]
fn a_journal_with_a_schema_version_below_zero_is_refused_with_its_path_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    CampaignWriter::new(dir.path(), "hello")
        .recipients(2)
        .text("Hello {{first_name}}")
        .write();
    let journal = dir.path().join("odd.db");
    rusqlite::Connection::open(&journal)
        .unwrap()
        .pragma_update(None, "user_version", -1)
        .unwrap();
    let out = timcast(
        dir.path(),
        &["plan", "hello.yaml", "--state", journal.to_str().unwrap()],
    );
    assert_ne!(out.code, 0, "{}", out.text());
    assert!(!out.stderr.contains("panicked"), "{}", out.text());
    assert!(
        out.stderr
            .contains("odd.db holds an unknown schema version `-1`"),
        "{}",
        out.text()
    );
}

#[test]
fn a_version_4_journal_is_rebuilt_once_with_a_note_and_plans_stream_it_after() {
    let dir = tempfile::tempdir().unwrap();
    CampaignWriter::new(dir.path(), "hello")
        .recipients(10)
        .text("Hello {{first_name}}")
        .write();
    timcast(dir.path(), &["apply", "--sandbox", "hello.yaml"]).expect_code(0);
    let journal = dir.path().join(".timcast/sandbox.db");
    // Back to version 4's table: keyed by (campaign, recipient), without a rowid.
    let conn = rusqlite::Connection::open(&journal).unwrap();
    let table: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'sends'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let old = format!(
        "{} WITHOUT ROWID",
        table.replacen("\"sends\"", "sends_v4", 1)
    );
    conn.execute_batch(&format!(
        "BEGIN; {old}; INSERT INTO sends_v4 SELECT * FROM sends; DROP TABLE sends;
         ALTER TABLE sends_v4 RENAME TO sends;
         CREATE INDEX sends_by_call ON sends (campaign, call_id);
         CREATE INDEX sends_by_recipient ON sends (recipient, intent_at_ms);
         PRAGMA user_version = 4; COMMIT;"
    ))
    .unwrap();
    drop(conn);
    let plan = timcast(dir.path(), &["-v", "plan", "--sandbox", "hello.yaml"]).expect_code(0);
    assert!(
        plan.stderr
            .contains("sandbox.db: upgrading it from schema version 4 to 5, once"),
        "{}",
        plan.text()
    );
    assert!(
        plan.stdout.contains("nothing to send (10 already sent)"),
        "{}",
        plan.text()
    );
    assert!(
        plan.stderr.contains(
            "ordered join: 10 recipients answered by the journal's stream, 0 looked up by key"
        ),
        "{}",
        plan.text()
    );
    // Once: the next plan has nothing to upgrade.
    let again = timcast(dir.path(), &["plan", "--sandbox", "hello.yaml"]).expect_code(0);
    assert!(!again.stderr.contains("upgrading"), "{}", again.text());
}
