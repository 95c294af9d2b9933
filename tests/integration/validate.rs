//! `timcast validate` and `timcast schema` as a user runs them: example campaigns pass, every
//! broken campaign in `tests/broken/` is refused with a located message, nothing panics.

#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use crate::common::{Session, copy_dir, repo};

use std::path::PathBuf;

fn example_campaigns() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("campaigns"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_campaign_validates() {
    let files = example_campaigns();
    assert!(files.len() >= 4, "expected the four example campaigns");
    let relative: Vec<String> = files
        .iter()
        .map(|f| format!("campaigns/{}", f.file_name().unwrap().to_string_lossy()))
        .collect();
    let output = Session::new()
        .current_dir(repo())
        .arg("validate")
        .args(&relative)
        .run();
    let stdout = &output.stdout;
    assert_eq!(output.code, 0, "{stdout}");
    for file in &relative {
        assert!(
            stdout.contains(&format!("{file}: valid")),
            "{file}: {stdout}"
        );
    }
}

#[test]
fn every_example_starts_with_the_schema_line() {
    for file in example_campaigns() {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema/campaign.schema.json\n"),
            "{} lacks the schema line",
            file.display()
        );
    }
}

#[test]
fn committed_schema_matches_the_schema_command() {
    let output = Session::new().arg("schema").run();
    assert_eq!(output.code, 0);
    let printed = output.stdout;
    let committed = std::fs::read_to_string(repo().join("schema/campaign.schema.json")).unwrap();
    assert_eq!(
        printed, committed,
        "schema/campaign.schema.json is stale: run `cargo run -- schema > schema/campaign.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(schema["title"], "timcast campaign");
    assert!(schema["properties"]["audience"].is_object());
}

/// Each file in tests/broken has one mistake: exit 1, and the message names file:line:col.
#[test]
fn every_broken_campaign_is_rejected_with_a_located_message() {
    let dir = repo().join("tests/broken");
    let mut seen = 0;
    insta::glob!("../broken", "*.yaml", |path| {
        seen += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let output = Session::new()
            .current_dir(&dir)
            .args(["validate", &name])
            .run();
        let stdout = &output.stdout;
        assert_eq!(output.code, 1, "{name} was not refused:\n{stdout}");
        let first = stdout.lines().next().unwrap_or_default();
        let located = first.starts_with("error: ")
            && first.split(": ").nth(1).is_some_and(|loc| {
                loc.split(':').count() == 3
                    && loc.split(':').skip(1).all(|n| n.parse::<u32>().is_ok())
            });
        assert!(
            located,
            "{name}: the first line does not name file:line:col: {first}"
        );
        assert!(stdout.contains("= help: "), "{name}: no hint\n{stdout}");
        assert!(stdout.contains('^'), "{name}: no caret\n{stdout}");
        insta::assert_snapshot!(stdout);
    });
    assert!(
        seen >= 25,
        "the corpus should hold at least 25 broken campaigns, has {seen}"
    );
}

#[test]
fn validate_reports_every_problem_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.csv"), "user_id,first_name\nu1,Ada\n").unwrap();
    let campaign = dir.path().join("c.yaml");
    std::fs::write(
        &campaign,
        "version: 1\nname: many\naudience: { csv: users.csv }\nmesage: x\nmessage:\n  - txt: hi\ndelivery:\n  raet: 1\n  batch: sometimes\n",
    )
    .unwrap();
    let output = Session::new().arg("validate").arg(&campaign).run();
    let stdout = &output.stdout;
    assert_eq!(output.code, 1);
    for expected in [
        "unknown key `mesage`",
        "unknown kind `txt`",
        "unknown key `raet`",
        "`sometimes` is not a valid value",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    assert!(stdout.contains("c.yaml: 4 errors"), "{stdout}");
}

#[test]
fn validate_checks_every_file_and_fails_if_one_fails() {
    let output = Session::new()
        .current_dir(repo())
        .args([
            "validate",
            "campaigns/welcome.yaml",
            "tests/broken/rate-zero.yaml",
            "campaigns/announcement.yaml",
        ])
        .run();
    let stdout = &output.stdout;
    assert_eq!(output.code, 1);
    assert!(stdout.contains("campaigns/welcome.yaml: valid"));
    assert!(stdout.contains("tests/broken/rate-zero.yaml: 1 error"));
    assert!(stdout.contains("campaigns/announcement.yaml: valid"));
}

#[test]
fn warnings_do_not_fail_validation() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.csv"), "user_id\nu1\n").unwrap();
    std::fs::write(
        dir.path().join("fast.yaml"),
        "version: 1\nname: fast\naudience: { csv: users.csv }\nmessage: [ { text: hi } ]\ndelivery: { rate: 500 }\n",
    )
    .unwrap();
    let output = Session::new()
        .current_dir(dir.path())
        .args(["validate", "fast.yaml"])
        .run();
    let stdout = &output.stdout;
    assert_eq!(output.code, 0, "{stdout}");
    assert!(
        stdout.contains("warning: fast.yaml:5:19: `rate` 500 is above the documented limit"),
        "{stdout}"
    );
    assert!(stdout.contains("fast.yaml: valid (1 warning)"));
}

#[test]
fn a_missing_file_and_a_bad_flag_are_user_errors() {
    let output = Session::new()
        .args(["validate", "no/such/campaign.yaml"])
        .run();
    assert_eq!(output.code, 1);
    assert!(output.stdout.contains("cannot read the campaign file"));
    let output = Session::new()
        .args(["validate", "--no-such-flag", "x.yaml"])
        .run();
    assert_eq!(output.code, 1);
}

/// Mangled versions of every example (truncated anywhere, bytes flipped) never panic the loader.
#[test]
fn no_input_makes_validation_panic() {
    let work = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("campaigns"), work.path());
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut runs = 0;
    for example in example_campaigns() {
        let original = std::fs::read(&example).unwrap();
        let target = work.path().join("mangled.yaml");
        let mut variants: Vec<Vec<u8>> = (0..original.len())
            .step_by(3)
            .map(|cut| original[..cut].to_vec())
            .collect();
        for _ in 0..200 {
            let mut bytes = original.clone();
            for _ in 0..(1 + next() % 4) {
                let at = (next() as usize) % bytes.len();
                let alphabet = b":-[]{}'\"#&*!|>%@`\t\n 0x\xff\xfe{{}}/..";
                let replacement = alphabet[(next() as usize) % alphabet.len()];
                bytes[at] = replacement;
            }
            variants.push(bytes);
        }
        for bytes in variants {
            std::fs::write(&target, &bytes).unwrap();
            let validation = timcast::campaign::validate(&target);
            let _ = validation.render();
            runs += 1;
        }
    }
    assert!(runs > 1000, "only {runs} variants ran");
}

/// The README's reference names every key of the schema, so the documentation cannot fall behind.
#[test]
fn readme_documents_every_key_of_the_file_format() {
    fn keys(value: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                    out.extend(props.keys().cloned());
                }
                map.values().for_each(|v| keys(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schema/campaign.schema.json")).unwrap(),
    )
    .unwrap();
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut all = std::collections::BTreeSet::new();
    keys(&schema, &mut all);
    let missing: Vec<&String> = all
        .iter()
        .filter(|k| {
            !readme.contains(&format!("`{k}`"))
                && !readme.contains(&format!(".{k}`"))
                && !readme.contains(&format!("{k}`,"))
                && !readme.contains(&format!("`{k},"))
        })
        .collect();
    assert!(missing.is_empty(), "README's reference lacks: {missing:?}");
}
