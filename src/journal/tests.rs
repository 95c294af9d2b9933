//! The journal's behaviour, run against every store: a SQLite file, and PostgreSQL when
//! `TIMCAST_TEST_POSTGRES` names a server (`.ci/postgres.sh` starts one; CI sets
//! `TIMCAST_REQUIRE_POSTGRES=1` so that a missing server fails instead of skipping).

use std::time::{Duration, Instant};

use super::*;
use crate::journal::test_record as record;
use std::path::Path;

/// A fresh, empty journal of each store, with a name for messages.
fn stores(test: &str) -> Vec<(&'static str, State, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![(
        "sqlite",
        State::sqlite(dir.path().join("state.db")),
        Some(dir),
    )];
    if let Some(url) = postgres_url(test) {
        all.push(("postgres", State::from_arg(Path::new(&url)), None));
    }
    all
}

/// The test server's URL with a schema of this test's own, or `None` (with a visible note)
/// when there is none and none is required.
pub(crate) fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("TIMCAST_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{test}_{:08x}", rand::random::<u32>());
            let sep = if url.contains('?') { '&' } else { '?' };
            Some(format!("{url}{sep}schema={schema}"))
        }
        _ if std::env::var("TIMCAST_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("TIMCAST_REQUIRE_POSTGRES=1 but TIMCAST_TEST_POSTGRES names no server")
        }
        _ => {
            eprintln!(
                "skipped PostgreSQL for {test}: set TIMCAST_TEST_POSTGRES (eval \"$(bash .ci/postgres.sh start /tmp/pg)\")"
            );
            None
        }
    }
}

fn sorted(mut records: Vec<SendRecord>) -> Vec<SendRecord> {
    records.sort_by(|a, b| a.recipient.cmp(&b.recipient));
    records
}

#[test]
fn intents_then_outcomes_keep_the_latest_state_in_every_store() {
    for (name, state, _dir) in stores("latest") {
        assert!(state.open_existing().unwrap().is_none(), "{name}");
        let mut journal = state.open().unwrap();
        journal
            .upsert(&[
                record("u1", SendState::Intent),
                record("u2", SendState::Intent),
            ])
            .unwrap();
        let mut sent = record("u1", SendState::Sent);
        sent.msg_key = Some("k1".into());
        sent.msg_time = Some(1_700_000_000);
        sent.attempts = 2;
        let mut failed = record("u2", SendState::Failed);
        failed.error_code = Some(90001);
        failed.error_text = Some("bad \"json\" ✓".into());
        failed.error_class = Some(ErrorClass::PermanentRecipient);
        // The same recipient twice in one batch: the last one wins.
        journal
            .upsert(&[
                record("u2", SendState::Uncertain),
                failed.clone(),
                sent.clone(),
            ])
            .unwrap();
        drop(journal);
        let reader = state.open_existing().unwrap().unwrap();
        assert_eq!(
            sorted(reader.records("c").unwrap()),
            vec![sent.clone(), failed.clone()],
            "{name}"
        );
        assert!(reader.records("other").unwrap().is_empty(), "{name}");
        assert_eq!(reader.schema_version().unwrap(), SCHEMA_VERSION, "{name}");
    }
}

#[test]
fn records_stream_in_order_beyond_one_chunk() {
    for (name, state, _dir) in stores("stream") {
        let mut journal = state.open().unwrap();
        let batch: Vec<SendRecord> = (0..2_500)
            .map(|i| {
                let mut r = record(&format!("u{i:05}"), SendState::Sent);
                r.intent_at_ms = 10_000 - i;
                r
            })
            .collect();
        journal.upsert(&batch).unwrap();
        let mut seen = Vec::new();
        journal
            .for_each_record("c", &mut |r| seen.push(r.intent_at_ms))
            .unwrap();
        assert_eq!(seen.len(), 2_500, "{name}");
        assert!(
            seen.windows(2).all(|w| w[0] <= w[1]),
            "{name}: oldest first"
        );
    }
}

#[test]
fn states_of_answers_the_journaled_recipients_only() {
    for (name, state, _dir) in stores("states") {
        let mut journal = state.open().unwrap();
        journal
            .upsert(&[record("a", SendState::Sent), record("c", SendState::Failed)])
            .unwrap();
        let mut found = Vec::new();
        journal
            .states_of("c", &["a", "b", "c", "a"], &mut |i, s| found.push((i, s)))
            .unwrap();
        found.sort();
        assert_eq!(
            found,
            vec![
                (0, SendState::Sent),
                (2, SendState::Failed),
                (3, SendState::Sent)
            ],
            "{name}"
        );
        let mut other = 0;
        journal
            .states_of("other", &["a"], &mut |_, _| other += 1)
            .unwrap();
        assert_eq!(other, 0, "{name}");
    }
}

#[test]
fn fingerprints_change_with_every_write_and_match_across_stores() {
    let mut prints = Vec::new();
    for (name, state, _dir) in stores("fingerprint") {
        assert_eq!(state.fingerprint("c").unwrap(), EMPTY_FINGERPRINT, "{name}");
        let mut journal = state.open().unwrap();
        journal.upsert(&[record("a", SendState::Intent)]).unwrap();
        let first = journal.fingerprint("c").unwrap();
        let mut sent = record("a", SendState::Sent);
        sent.updated_at_ms = 2;
        journal.upsert(&[sent]).unwrap();
        let second = journal.fingerprint("c").unwrap();
        assert_ne!(first, second, "{name}");
        prints.push(second);
    }
    // `state migrate` verifies a copy by its fingerprint.
    prints.dedup();
    assert_eq!(prints.len(), 1, "{prints:?}");
}

#[test]
fn recent_sends_to_a_recipient_come_from_every_campaign_oldest_first() {
    for (name, state, _dir) in stores("recent") {
        let mut journal = state.open().unwrap();
        let mut older = record("u", SendState::Sent);
        older.campaign = "a".into();
        older.intent_at_ms = 100;
        let mut newer = record("u", SendState::Uncertain);
        newer.campaign = "b".into();
        newer.intent_at_ms = 200;
        let mut failed = record("u", SendState::Failed);
        failed.campaign = "f".into();
        failed.intent_at_ms = 300;
        journal.upsert(&[newer, older, failed]).unwrap();
        assert_eq!(
            journal.sent_to_since("u", 50).unwrap(),
            vec![
                ("a".to_owned(), "h".to_owned(), 100),
                ("b".to_owned(), "h".to_owned(), 200)
            ],
            "{name}"
        );
        assert_eq!(journal.sent_to_since("u", 150).unwrap().len(), 1, "{name}");
    }
}

#[test]
fn recent_counts_count_other_campaigns_in_the_window_by_tag_in_every_store() {
    for (name, state, _dir) in stores("caps") {
        let mut journal = state.open().unwrap();
        let at = |campaign: &str, who: &str, state: SendState, ms: i64| {
            let mut r = record(who, state);
            r.campaign = campaign.into();
            r.intent_at_ms = ms;
            r
        };
        // 600 recipients: more than one SQLite batch. Every third got `promo`, every
        // fifth `news`; all got the capped campaign `me` itself.
        let mut records = Vec::new();
        for i in 0..600 {
            let who = format!("u{i}");
            records.push(at("me", &who, SendState::Sent, 500));
            if i % 3 == 0 {
                records.push(at("promo", &who, SendState::Sent, 500));
            }
            if i % 5 == 0 {
                records.push(at("news", &who, SendState::Uncertain, 500));
            }
        }
        // Neither too old, nor held out, capped or failed counts.
        records.push(at("old", "u1", SendState::Sent, 10));
        records.push(at("held", "u1", SendState::HeldOut, 500));
        records.push(at("capped", "u1", SendState::Capped, 500));
        records.push(at("failed", "u1", SendState::Failed, 500));
        journal.upsert(&records).unwrap();
        journal.set_tags("promo", &["promo".into()]).unwrap();
        journal
            .set_tags("news", &["news".into(), "stale".into()])
            .unwrap();
        journal.set_tags("news", &["news".into()]).unwrap();
        assert_eq!(
            journal.all_tags().unwrap(),
            [
                ("news".into(), "news".into()),
                ("promo".into(), "promo".into())
            ],
            "{name}"
        );
        let names: Vec<String> = (0..600).rev().map(|i| format!("u{i}")).collect();
        let mut ids: Vec<&str> = names.iter().map(String::as_str).collect();
        ids.push("u0");
        ids.push("nobody");
        let counts = |tags: &[&str]| {
            let query = CapQuery {
                since_ms: 100,
                except_campaign: "me".into(),
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            };
            let mut got = vec![0u32; ids.len()];
            journal
                .recent_counts(&ids, &query, &mut |i, n| got[i] += n)
                .unwrap();
            got
        };
        let expect = |promo: bool, news: bool| -> Vec<u32> {
            ids.iter()
                .map(|who| {
                    let Some(i) = who.strip_prefix('u').and_then(|n| n.parse::<u32>().ok()) else {
                        return 0;
                    };
                    u32::from(promo && i % 3 == 0) + u32::from(news && i % 5 == 0)
                })
                .collect()
        };
        assert_eq!(counts(&[]), expect(true, true), "{name}: every campaign");
        assert_eq!(counts(&["promo"]), expect(true, false), "{name}: promo");
        assert_eq!(counts(&["promo", "news"]), expect(true, true), "{name}");
        assert_eq!(counts(&["nothing"]), vec![0; ids.len()], "{name}");
    }
}

#[test]
fn plans_are_applied_once_and_campaigns_are_counted() {
    for (name, state, _dir) in stores("plans") {
        let mut journal = state.open().unwrap();
        assert!(!journal.plan_applied("p1").unwrap(), "{name}");
        journal.mark_plan_applied("p1", "c", 5).unwrap();
        journal.mark_plan_applied("p1", "c", 6).unwrap();
        assert!(journal.plan_applied("p1").unwrap(), "{name}");
        assert_eq!(
            journal.applied_plans().unwrap(),
            vec![("p1".to_owned(), "c".to_owned(), 5)],
            "{name}"
        );
        let mut b = record("x", SendState::Sent);
        b.campaign = "b".into();
        journal
            .upsert(&[
                record("u1", SendState::Sent),
                record("u2", SendState::Sent),
                record("u3", SendState::Failed),
                b,
            ])
            .unwrap();
        let counts = journal.campaigns().unwrap();
        assert_eq!(counts.len(), 2, "{name}");
        assert_eq!(counts[0].campaign, "b");
        assert_eq!(counts[1].total, 3);
        assert_eq!(counts[1].states.get("sent"), Some(&2), "{name}");
        assert_eq!(counts[1].states.get("failed"), Some(&1), "{name}");
    }
}

#[test]
fn a_campaign_lock_refuses_a_second_holder_until_released() {
    for (name, state, _dir) in stores("lock") {
        let journal = state.open().unwrap();
        let first = journal.lock("c").unwrap();
        let second = state.open().unwrap();
        assert!(
            matches!(second.lock("c"), Err(JournalError::Locked { .. })),
            "{name}"
        );
        assert!(second.lock("other").is_ok(), "{name}");
        drop(first);
        assert!(second.lock("c").is_ok(), "{name}");
    }
}

#[test]
fn a_newer_schema_is_refused() {
    let Some(url) = postgres_url("too_new") else {
        return;
    };
    let state = State::from_arg(Path::new(&url));
    drop(state.open().unwrap());
    let target = PgTarget::new(&url);
    let mut client = target.connect().unwrap();
    client
        .batch_execute(&format!(
            "UPDATE \"{}\".timcast_schema SET version = 99",
            target.schema()
        ))
        .unwrap();
    let error = state
        .open()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("schema version 99, newer"), "{error}");
    assert!(state.open_existing().is_err());
}

#[test]
fn runners_of_one_app_split_its_rate_and_a_leaver_gives_its_share_back() {
    let Some(url) = postgres_url("budget") else {
        return;
    };
    let state = State::from_arg(Path::new(&url));
    let journal = state.open().unwrap();
    assert!(
        SqliteJournal::open(&tempfile::tempdir().unwrap().path().join("s.db"))
            .unwrap()
            .join_rate_budget(1, "a")
            .unwrap()
            .is_none(),
        "SQLite has no registry"
    );
    let first = journal.join_rate_budget(1400000000, "a").unwrap().unwrap();
    assert_eq!(first.get(), 1.0);
    assert_eq!(first.start_after(), Duration::ZERO);
    let second = journal.join_rate_budget(1400000000, "b").unwrap().unwrap();
    assert_eq!(second.runners(), 2);
    assert_eq!(second.get(), 0.5);
    assert!(second.start_after() > Duration::from_secs(1));
    // Another app's runner takes nothing from these.
    let other_app = journal.join_rate_budget(1400000001, "c").unwrap().unwrap();
    assert_eq!(other_app.get(), 1.0);
    wait_for(|| first.get() == 0.5, "the first runner to halve its share");
    drop(second);
    wait_for(
        || first.get() == 1.0,
        "the first runner to take it all back",
    );
}

#[test]
fn a_runner_resuming_a_campaign_takes_no_share_from_the_runner_that_died_applying_it() {
    let Some(url) = postgres_url("budget_resume") else {
        return;
    };
    let journal = State::from_arg(Path::new(&url)).open().unwrap();
    // A runner of `a` whose process was killed: its row is still fresh (here it even keeps
    // beating), but its lock is gone.
    std::mem::forget(journal.join_rate_budget(1400000000, "a").unwrap().unwrap());
    let other = journal.join_rate_budget(1400000000, "b").unwrap().unwrap();
    assert_eq!(other.runners(), 2);
    let _lock = journal.lock("a").unwrap();
    let resumed = journal.join_rate_budget(1400000000, "a").unwrap().unwrap();
    assert_eq!(resumed.runners(), 2, "itself and the runner of b");
    assert_eq!(resumed.get(), 0.5);
}

fn wait_for(done: impl Fn() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn records_of_a_batch_counts_and_records_in_some_states_in_every_store() {
    for (name, state, _dir) in stores("lookup") {
        let mut journal = state.open().unwrap();
        let mut sent = record("a", SendState::Sent);
        sent.msg_key = Some("k".into());
        journal
            .upsert(&[
                sent.clone(),
                record("b", SendState::Uncertain),
                record("c", SendState::Intent),
                record("d", SendState::Failed),
            ])
            .unwrap();
        let mut found = Vec::new();
        journal
            .records_of("c", &["a", "zz", "a", "d"], &mut |i, r| found.push((i, r)))
            .unwrap();
        found.sort_by_key(|(i, _)| *i);
        assert_eq!(
            found.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![0, 2, 3],
            "{name}"
        );
        assert_eq!(found[0].1, sent, "{name}: whole records");
        assert_eq!(journal.count("c").unwrap(), 4, "{name}");
        assert_eq!(journal.count("other").unwrap(), 0, "{name}");
        let mut open = Vec::new();
        journal
            .for_each_record_in("c", &[SendState::Intent, SendState::Uncertain], &mut |r| {
                open.push(r.recipient)
            })
            .unwrap();
        open.sort();
        assert_eq!(open, vec!["b", "c"], "{name}");
    }
}

#[test]
fn a_campaigns_records_stream_in_the_order_they_were_first_written() {
    for (name, state, _dir) in stores("written") {
        let mut journal = state.open().unwrap();
        // Written u9, u1, u5, each intent a millisecond after the last; u1's outcome later.
        for (at, who) in ["u9", "u1", "u5"].iter().enumerate() {
            let mut intent = record(who, SendState::Intent);
            intent.intent_at_ms = 100 + at as i64;
            journal.upsert(&[intent]).unwrap();
        }
        let mut failed = record("u1", SendState::Failed);
        failed.intent_at_ms = 101;
        failed.error_code = Some(20003);
        failed.error_class = Some(crate::im::ErrorClass::PermanentRecipient);
        journal.upsert(&[failed]).unwrap();
        let mut streamed: Vec<(String, SendState, Option<i64>)> = Vec::new();
        for chunk in journal
            .records_in_written_order("c", 3)
            .unwrap()
            .unwrap_or_else(|| panic!("{name} streams a campaign that is all its records"))
        {
            for r in chunk.unwrap().iter() {
                streamed.push((r.recipient.to_owned(), r.state, r.error_code));
            }
        }
        assert_eq!(
            streamed,
            [
                ("u9".to_owned(), SendState::Intent, None),
                ("u1".to_owned(), SendState::Failed, Some(20003)),
                ("u5".to_owned(), SendState::Intent, None),
            ],
            "{name}"
        );
        // A reader that stops early ends the stream without reading the rest.
        let mut first = journal.records_in_written_order("c", 3).unwrap().unwrap();
        let chunk = first.next().unwrap().unwrap();
        assert_eq!(chunk.get(0).map(|r| r.recipient), Some("u9"), "{name}");
        drop(first);
    }
}

/// SQLite streams only a campaign that holds at least half of the file's rows: a scan of the
/// table reads every campaign's.
#[test]
fn sqlite_looks_up_by_key_a_campaign_that_is_a_small_part_of_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let mut journal = State::sqlite(dir.path().join("state.db")).open().unwrap();
    let others: Vec<SendRecord> = (0..10)
        .map(|i| {
            let mut other = record(&format!("o{i}"), SendState::Sent);
            other.campaign = "big".into();
            other
        })
        .collect();
    journal.upsert(&others).unwrap();
    journal.upsert(&[record("u1", SendState::Sent)]).unwrap();
    assert!(journal.records_in_written_order("c", 1).unwrap().is_none());
    assert!(
        journal
            .records_in_written_order("big", 10)
            .unwrap()
            .is_some()
    );
    assert!(
        journal
            .records_in_written_order("none", 0)
            .unwrap()
            .is_none()
    );
}

/// A record written by a version 1 journal survives the move to version 2, which adds the
/// variant, the locale and the holdout and cap states.
#[test]
fn a_version_1_journal_migrates_with_its_records() {
    let insert = "INSERT INTO sends (campaign, recipient, content_hash, state, endpoint, call_id,
        msg_random, msg_seq, intent_at_ms, updated_at_ms)
        VALUES ('c', 'u1', 'h', 'sent', 'openim/sendmsg', 'call-u1', 7, 8, 1, 2)";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!(
        "BEGIN; {}; {insert}; PRAGMA user_version = 1; COMMIT;",
        super::sqlite::MIGRATIONS[0]
    ))
    .unwrap();
    drop(conn);
    let mut stores = vec![("sqlite", State::sqlite(&path))];
    if let Some(url) = postgres_url("v1") {
        let target = PgTarget::new(&url);
        let mut client = target.connect().unwrap();
        let schema = target.schema().to_owned();
        client
            .batch_execute(&format!(
                "CREATE SCHEMA \"{schema}\"; SET search_path TO \"{schema}\";
                 {} ; {insert};
                 CREATE TABLE timcast_schema (version INTEGER NOT NULL);
                 INSERT INTO timcast_schema VALUES (1);",
                super::postgres::schema::MIGRATIONS[0]
            ))
            .unwrap();
        stores.push(("postgres", State::from_arg(Path::new(&url))));
    }
    for (name, state) in stores {
        let mut journal = state.open().unwrap();
        assert_eq!(journal.schema_version().unwrap(), SCHEMA_VERSION, "{name}");
        let mut old = record("u1", SendState::Sent);
        old.updated_at_ms = 2;
        assert_eq!(journal.records("c").unwrap(), vec![old], "{name}");
        let mut held = record("u2", SendState::HeldOut);
        held.variant = Some("a".into());
        let mut capped = record("u3", SendState::Capped);
        capped.locale = Some("zh".into());
        journal.upsert(&[held.clone(), capped.clone()]).unwrap();
        let all = sorted(journal.records("c").unwrap());
        assert_eq!(all[1..], [held, capped], "{name}");
    }
}

#[test]
fn a_checkpoint_is_kept_per_campaign_and_moves_only_for_its_own_inputs() {
    for (name, state, _dir) in stores("checkpoint") {
        let journal = state.open().unwrap();
        assert_eq!(journal.checkpoint("c").unwrap(), None, "{name}");
        let checkpoint = Checkpoint {
            digest: "d1".to_owned(),
            settled_before_row: 2,
            shared: vec![1, 2, 3],
            checked_at_ms: 7,
        };
        journal.save_checkpoint("c", &checkpoint).unwrap();
        journal.advance_checkpoint("c", "d1", 40).unwrap();
        // Another digest is another set of inputs: its row says nothing of these.
        journal.advance_checkpoint("c", "d2", 90).unwrap();
        let kept = journal.checkpoint("c").unwrap().unwrap();
        assert_eq!(kept.settled_before_row, 40, "{name}");
        assert_eq!(kept.shared, [1, 2, 3], "{name}");
        assert_eq!(journal.checkpoint("other").unwrap(), None, "{name}");
        // A new check replaces it, and survives reopening.
        let again = Checkpoint {
            digest: "d2".to_owned(),
            settled_before_row: u64::MAX,
            ..checkpoint
        };
        journal.save_checkpoint("c", &again).unwrap();
        drop(journal);
        let reopened = state.open().unwrap().checkpoint("c").unwrap().unwrap();
        assert_eq!(reopened.digest, "d2", "{name}");
        // Kept as the largest row the store holds (i64::MAX): later than every row.
        assert!(reopened.settled_before_row >= i64::MAX as u64, "{name}");
    }
}
