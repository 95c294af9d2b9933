//! Regressions of checking a campaign before sending (issue 12, item 13): a type error does not
//! hide the file's other mistakes, `validate DIR` checks every campaign in it, and `preview` of
//! a suppressed recipient says that apply does not send to them.

use crate::common::{CampaignWriter, Session, workspace};

#[test]
fn a_type_error_does_not_hide_the_files_other_errors() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "version: 1\nname: typed\naudience:\n  csv: nosuch.csv\nmessage:\n  - text: hi\n\
                delivery:\n  rate: fast\ncontrols:\n  lifetime: 9d\n";
    std::fs::write(dir.path().join("typed.yaml"), yaml).unwrap();
    let out = Session::new()
        .current_dir(dir.path())
        .args(["validate", "typed.yaml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.text());
    for (at, what) in [
        ("typed.yaml:4:8:", "`nosuch.csv` does not exist"),
        ("typed.yaml:8:9:", "`delivery.rate` should be a number"),
        ("typed.yaml:10:13:", "`lifetime` 9d is longer than 7 days"),
    ] {
        assert!(
            out.stdout.contains(&format!("error: {at} {what}")),
            "missing `{at} {what}` in:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout.contains("typed.yaml: 3 errors"),
        "{}",
        out.stdout
    );
}

#[test]
fn validate_takes_a_directory_of_campaigns() {
    let dir = workspace();
    let out = Session::new()
        .current_dir(dir.path().join("campaigns"))
        .args(["validate", "."])
        .run()
        .expect_code(0);
    for name in ["announcement", "chatbot", "promotion", "welcome"] {
        assert!(
            out.stdout.contains(&format!("./{name}.yaml: valid")),
            "{}",
            out.stdout
        );
    }
    // One broken campaign fails the directory, and the others are still checked.
    let campaigns = dir.path().join("campaigns");
    CampaignWriter::new(&campaigns, "zz-broken")
        .recipients(1)
        .text("Hi {{frist_name}}")
        .write();
    let out = Session::new()
        .current_dir(&campaigns)
        .args(["validate", "."])
        .run();
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stdout.contains("./welcome.yaml: valid"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("./zz-broken.yaml: 1 error"),
        "{}",
        out.stdout
    );
}

#[test]
fn preview_of_a_suppressed_recipient_says_apply_does_not_send_to_them() {
    let dir = crate::common::workspace();
    let preview = |id: &str, json: bool| {
        let mut session = Session::new().current_dir(dir.path()).args([
            "preview",
            "campaigns/promotion.yaml",
            "--recipient",
            id,
        ]);
        if json {
            session = session.arg("--json");
        }
        session.run().expect_code(0)
    };
    // u2004 is in data/unsubscribed.csv, the promotion's suppression list.
    let out = preview("u2004", false);
    assert!(
        out.stdout.starts_with(
            "note: u2004 is on a suppression list (audience.exclude): apply does not send to them"
        ),
        "{}",
        out.stdout
    );
    let json = preview("u2004", true);
    assert!(
        json.stderr.contains("is on a suppression list"),
        "{}",
        json.stderr
    );
    assert!(json.stdout.trim_start().starts_with('{'), "{}", json.stdout);
    let other = preview("u2001", false);
    assert!(!other.stdout.contains("suppression"), "{}", other.stdout);
}
