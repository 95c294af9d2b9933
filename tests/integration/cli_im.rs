//! `timcast usersig`, `timcast robots` and `timcast sandbox` as a user runs them, and the
//! promise that the secret key never shows up in their output.

#![allow(clippy::unwrap_used)] // test helpers may unwrap

use crate::common::Session;

use std::process::Stdio;

use timcast::im::SecretKey;
use timcast::im::usersig;

/// Not the demo key: a user's own secret, which must never be printed.
const REAL_KEY: &str = "c0ffee0ddba11-user-secret-9f8e7d6c5b4a";
/// API.md §6.3 vector A, signed in 2023 for one day: long expired.
const EXPIRED: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAyiAyqVWFGQWpQJlLMxM4IIlmbkgIUNzNMXFmekg44P93EzccsOcA0qT8yOKnfwLksLcjNPcnNNMzb0Ccg1Sq6IMs1LDPH1ywpJtlWoBk68y0A__";

#[test]
fn usersig_prints_a_signature_that_verifies() {
    let out = Session::new()
        .args(["usersig", "administrator", "--expire", "86400"])
        .sdkappid("1400000000")
        .secret(REAL_KEY)
        .run();
    let out = out.expect_code(0);
    let sig = out.stdout.trim().to_owned();
    let doc = usersig::verify(
        &sig,
        &SecretKey::new(REAL_KEY),
        1_400_000_000,
        "administrator",
    )
    .unwrap();
    assert_eq!(doc.expire, 86_400);
    assert!(!out.text().contains(REAL_KEY));

    let out = Session::new()
        .args(["usersig", "administrator", "--verify", &sig])
        .sdkappid("1400000000")
        .secret(REAL_KEY)
        .run()
        .expect_code(0);
    assert!(
        out.stdout
            .starts_with("valid: UserSig for \"administrator\""),
        "{}",
        out.stdout
    );
}

#[test]
fn usersig_verify_names_the_reason_and_exits_1() {
    let key_dir = tempfile::tempdir().unwrap();
    let key_file = key_dir.path().join("secret");
    std::fs::write(&key_file, format!("{REAL_KEY}\n")).unwrap();
    let forged = usersig::generate(
        &SecretKey::new("guessed"),
        1_400_000_000,
        "administrator",
        3600,
    );
    let ours = usersig::generate(
        &SecretKey::new(REAL_KEY),
        1_400_000_000,
        "administrator",
        3600,
    );
    let cases = [
        ("administrator", forged.as_str(), "signature does not match"),
        ("xiaojun", EXPIRED, "expired"),
        (
            "somebody",
            ours.as_str(),
            "signed for identifier \"administrator\"",
        ),
        ("administrator", "garbage", "cannot be decoded"),
    ];
    for (identifier, sig, reason) in cases {
        let key = if identifier == "xiaojun" {
            timcast::im::settings::DEMO_SECRET_KEY.to_owned()
        } else {
            REAL_KEY.to_owned()
        };
        std::fs::write(&key_file, &key).unwrap();
        let out = Session::new()
            .args([
                "usersig",
                identifier,
                "--verify",
                sig,
                "--sdkappid",
                "1400000000",
            ])
            .arg("--secret-key-file")
            .arg(&key_file)
            .run();
        assert_eq!(out.code, 1, "{identifier}");
        let text = out.text();
        assert!(text.contains("invalid:") && text.contains(reason), "{text}");
        assert!(!text.contains(&key), "{text}");
    }
}

#[test]
fn usersig_without_a_key_says_where_to_put_it() {
    let out = Session::new()
        .args(["usersig", "administrator", "--sdkappid", "1400000000"])
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("TIM_SECRET_KEY"), "{}", out.stderr);
}

#[test]
fn the_secret_key_is_not_a_command_line_flag() {
    let out = Session::new()
        .args(["usersig", "administrator", "--secret-key", REAL_KEY])
        .run();
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(!out.stderr.contains(REAL_KEY), "{}", out.stderr);
}

#[test]
fn help_texts_carry_an_example() {
    for command in ["usersig", "robots", "sandbox"] {
        let out = Session::new()
            .args([command, "--help"])
            .run()
            .expect_code(0);
        assert!(
            out.stdout.contains("Example: ") && out.stdout.contains("timcast "),
            "{command}: {}",
            out.stdout
        );
    }
}

#[test]
fn sandbox_prints_its_exports_and_stops_by_itself() {
    let out = Session::new()
        .args(["sandbox", "--listen", "127.0.0.1:0", "--exit-after", "0.3"])
        .run();
    let out = out.expect_code(0);
    let stdout = &out.stdout;
    let endpoint = stdout
        .lines()
        .find_map(|l| l.strip_prefix("export TIM_ENDPOINT="))
        .unwrap();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") && !endpoint.ends_with(":0"),
        "{endpoint}"
    );
    assert!(stdout.contains("export TIM_SDKAPPID=1400000000"));
    assert!(stdout.contains("export TIM_ADMIN=administrator"));
    assert!(stdout.contains(&format!(
        "export TIM_SECRET_KEY={}",
        timcast::im::settings::DEMO_SECRET_KEY
    )));
    let stderr = &out.stderr;
    assert!(stderr.contains("demo secret key"), "{stderr}");
    assert!(stderr.contains("sandbox stopped"), "{stderr}");
    // Standard output is shell lines alone, so it can be sourced.
    assert!(
        stdout
            .lines()
            .all(|l| l.starts_with("export TIM_") || l.starts_with('#')),
        "{stdout}"
    );
    assert!(
        stderr.contains("listening on http://127.0.0.1:"),
        "{stderr}"
    );
}

#[test]
fn sandbox_with_a_real_key_never_prints_it() {
    let out = Session::new()
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--exit-after",
            "0.2",
            "--sdkappid",
            "1400000123",
        ])
        .secret(REAL_KEY)
        .run();
    let out = out.expect_code(0);
    let text = out.text();
    assert!(text.contains("export TIM_SDKAPPID=1400000123"), "{text}");
    assert!(!text.contains("export TIM_SECRET_KEY"), "{text}");
    assert!(!text.contains(REAL_KEY), "{text}");
}

#[test]
fn sandbox_refuses_a_public_address() {
    let out = Session::new()
        .args(["sandbox", "--listen", "0.0.0.0:0", "--exit-after", "0"])
        .run()
        .expect_code(1);
    assert!(
        out.stderr.contains("refusing to listen on 0.0.0.0:0"),
        "{}",
        out.stderr
    );
}

#[test]
fn robots_lists_the_chatbots_of_a_running_sandbox() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config =
        timcast::sandbox::SandboxConfig::new(1_400_000_000, "ops", SecretKey::new(REAL_KEY));
    config.directory.robots.insert("@RBT#deals_bot".into());
    config.directory.robots.insert("@RBT#help".into());
    let sandbox = runtime
        .block_on(timcast::sandbox::Sandbox::start(config))
        .unwrap();
    let robots = |key: &str| {
        Session::new()
            .arg("robots")
            .endpoint(sandbox.base_url())
            .sdkappid("1400000000")
            .admin("ops")
            .secret(key)
            .run()
    };
    let out = robots(REAL_KEY);
    let out = out.expect_code(0);
    assert_eq!(out.stdout, "@RBT#deals_bot\n@RBT#help\n");
    assert!(!out.text().contains(REAL_KEY));

    // With the wrong key the API refuses, and the report still does not show the key.
    let out = robots("another-secret-of-the-user");
    assert_eq!(out.code, 1);
    let text = out.text();
    assert!(text.contains("70009"), "{text}");
    assert!(
        !text.contains("another-secret-of-the-user") && !text.contains("usersig="),
        "{text}"
    );
    drop(sandbox);
}

#[test]
fn robots_refuses_plain_http_to_a_remote_host() {
    let out = Session::new()
        .arg("robots")
        .endpoint("http://example.com")
        .sdkappid("1400000000")
        .secret(REAL_KEY)
        .run()
        .expect_code(1);
    assert!(out.stderr.contains("bad endpoint"), "{}", out.stderr);
}

/// A user's session: start `timcast sandbox` with an accounts file, point timcast at it with
/// the printed exports, list the robots, and watch it stop by itself.
#[test]
fn a_sandbox_process_serves_the_accounts_of_its_file() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let accounts = dir.path().join("accounts.txt");
    std::fs::write(
        &accounts,
        "# who exists\nann\n@RBT#deals_bot\n@TOA#news 1200\n",
    )
    .unwrap();
    let log = dir.path().join("deliveries.jsonl");
    let mut child = Session::new()
        .args(["sandbox", "--listen", "127.0.0.1:0", "--exit-after", "10"])
        .arg("--accounts")
        .arg(&accounts)
        .arg("--delivery-log")
        .arg(&log)
        .stderr(Stdio::null())
        .spawn();
    let mut exports = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(export) = line.strip_prefix("export ") {
            let (name, value) = export.split_once('=').unwrap();
            exports.push((name.to_owned(), value.to_owned()));
        }
        // Standard output is the four export lines alone.
        if exports.len() == 4 {
            break;
        }
    }
    let mut robots = Session::new().arg("robots");
    for (name, value) in &exports {
        robots = robots.env(name, value);
    }
    let out = robots.run();
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(exports.len(), 4, "{exports:?}");
    let out = out.expect_code(0);
    assert_eq!(out.stdout, "@RBT#deals_bot\n");
}
