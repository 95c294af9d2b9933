//! How records travel to and from PostgreSQL: decoded from rows of
//! [`COLUMNS`](crate::journal::COLUMNS), and written
//! as one array per column.

use std::collections::HashSet;

use postgres::Row;

use crate::im::{Endpoint, ErrorClass};
use crate::journal::{JournalError, SendRecord, SendState};

/// A record from a row of [`COLUMNS`](crate::journal::COLUMNS).
pub(super) fn decode(row: &Row, location: &str) -> Result<SendRecord, JournalError> {
    let bad = |what: &'static str, value: &str| JournalError::BadValue {
        location: location.to_owned(),
        what,
        value: value.to_owned(),
    };
    let sql = |source| JournalError::Postgres {
        location: location.to_owned(),
        error: source,
    };
    let state_text: String = row.try_get(3).map_err(sql)?;
    let state = SendState::parse(&state_text).ok_or_else(|| bad("state", &state_text))?;
    let endpoint_text: String = row.try_get(4).map_err(sql)?;
    let endpoint =
        Endpoint::from_path(&endpoint_text).ok_or_else(|| bad("endpoint", &endpoint_text))?;
    let error_class = match row.try_get::<_, Option<String>>(12).map_err(sql)? {
        None => None,
        Some(text) => Some(ErrorClass::parse(&text).ok_or_else(|| bad("error class", &text))?),
    };
    let number = |i: usize, what: &'static str| -> Result<u32, JournalError> {
        let n: i64 = row.try_get(i).map_err(sql)?;
        u32::try_from(n).map_err(|_| bad(what, &n.to_string()))
    };
    Ok(SendRecord {
        campaign: row.try_get(0).map_err(sql)?,
        recipient: row.try_get(1).map_err(sql)?,
        content_hash: row.try_get(2).map_err(sql)?,
        state,
        endpoint,
        call_id: row.try_get(5).map_err(sql)?,
        msg_random: number(6, "MsgRandom")?,
        msg_seq: number(7, "MsgSeq")?,
        msg_key: row.try_get(8).map_err(sql)?,
        msg_time: row.try_get(9).map_err(sql)?,
        error_code: row.try_get(10).map_err(sql)?,
        error_text: row.try_get(11).map_err(sql)?,
        error_class,
        attempts: u32::try_from(row.try_get::<_, i32>(13).map_err(sql)?).unwrap_or(0),
        intent_at_ms: row.try_get(14).map_err(sql)?,
        updated_at_ms: row.try_get(15).map_err(sql)?,
        variant: row.try_get(16).map_err(sql)?,
        locale: row.try_get(17).map_err(sql)?,
    })
}

/// A batch of records as one array per column, the latest record per recipient only (one
/// statement may not update a row twice).
#[derive(Default)]
pub(super) struct Columns {
    pub(super) campaign: Vec<String>,
    pub(super) recipient: Vec<String>,
    pub(super) content_hash: Vec<String>,
    pub(super) state: Vec<&'static str>,
    pub(super) endpoint: Vec<&'static str>,
    pub(super) call_id: Vec<String>,
    pub(super) msg_random: Vec<i64>,
    pub(super) msg_seq: Vec<i64>,
    pub(super) msg_key: Vec<Option<String>>,
    pub(super) msg_time: Vec<Option<i64>>,
    pub(super) error_code: Vec<Option<i64>>,
    pub(super) error_text: Vec<Option<String>>,
    pub(super) error_class: Vec<Option<&'static str>>,
    pub(super) attempts: Vec<i32>,
    pub(super) intent_at_ms: Vec<i64>,
    pub(super) updated_at_ms: Vec<i64>,
    pub(super) variant: Vec<Option<String>>,
    pub(super) locale: Vec<Option<String>>,
}

impl Columns {
    pub(super) fn of(records: &[SendRecord]) -> Columns {
        let mut seen = HashSet::with_capacity(records.len());
        let mut latest: Vec<&SendRecord> = records
            .iter()
            .rev()
            .filter(|r| seen.insert((r.campaign.as_str(), r.recipient.as_str())))
            .collect();
        latest.reverse();
        let mut c = Columns::default();
        for r in latest {
            c.campaign.push(r.campaign.clone());
            c.recipient.push(r.recipient.clone());
            c.content_hash.push(r.content_hash.clone());
            c.state.push(r.state.as_str());
            c.endpoint.push(r.endpoint.path());
            c.call_id.push(r.call_id.clone());
            c.msg_random.push(i64::from(r.msg_random));
            c.msg_seq.push(i64::from(r.msg_seq));
            c.msg_key.push(r.msg_key.clone());
            c.msg_time.push(r.msg_time);
            c.error_code.push(r.error_code);
            c.error_text.push(r.error_text.clone());
            c.error_class.push(r.error_class.map(ErrorClass::as_str));
            c.attempts
                .push(i32::try_from(r.attempts).unwrap_or(i32::MAX));
            c.intent_at_ms.push(r.intent_at_ms);
            c.updated_at_ms.push(r.updated_at_ms);
            c.variant.push(r.variant.clone());
            c.locale.push(r.locale.clone());
        }
        c
    }
}
