//! A campaign's records in the order they were written, for the planner's ordered join
//! ([`JournalStore::records_in_written_order`](crate::journal::JournalStore)): streamed by
//! intent time from the `sends_by_intent` index with `COPY ... TO STDOUT`, on a connection of
//! their own.
//!
//! COPY's CSV, parsed by the csv crate into reused buffers, costs far less per record than the
//! row protocol, and a plan reads every record of the campaign this way.

use super::PgJournal;
use crate::im::{Endpoint, ErrorClass};
use crate::journal::chunks::{ChunkSender, ChunkStream};
use crate::journal::{
    JournalError, PLAN_COLUMNS, PlanRecord, PlanRecords, RecordStream, SendState,
};

/// The records of `campaign`, carrying what a plan reads; `None` when the schema is not
/// there, or the name is not one COPY can be given safely (it takes no parameters).
pub(super) fn stream(
    journal: &PgJournal,
    campaign: &str,
) -> Result<Option<RecordStream>, JournalError> {
    let plain = !campaign.is_empty()
        && campaign
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !plain {
        return Ok(None);
    }
    let Some(reader) = PgJournal::open_existing(journal.target())? else {
        return Ok(None);
    };
    let query = format!(
        "COPY (SELECT {PLAN_COLUMNS} FROM sends WHERE campaign = '{campaign}' \
         ORDER BY intent_at_ms) TO STDOUT (FORMAT csv)"
    );
    let (mut sender, received) = ChunkSender::<PlanRecords>::channel();
    let location = journal.target().redacted();
    reader.conn.submit(move |client| {
        let streamed = (|| -> Result<(), JournalError> {
            let copy = client
                .copy_out(query.as_str())
                .map_err(|error| JournalError::Postgres {
                    location: location.clone(),
                    error,
                })?;
            let mut csv = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(copy);
            let mut row = csv::ByteRecord::new();
            let gone = |message: String| JournalError::PgGone {
                location: location.clone(),
                message,
            };
            while csv
                .read_byte_record(&mut row)
                .map_err(|e| gone(format!("reading the campaign's records: {e}")))?
            {
                let record = record_of(&row, &location)?;
                if !sender.push(|chunk: &mut PlanRecords| chunk.push(record)) {
                    break;
                }
            }
            Ok(())
        })();
        sender.finish(streamed);
    })?;
    Ok(Some(Box::new(ChunkStream::new(received, reader))))
}

/// A record from one line of the COPY, read in place. (CSV does not tell a NULL from an
/// empty text; for these columns both mean "none".)
fn record_of<'r>(row: &'r csv::ByteRecord, location: &str) -> Result<PlanRecord<'r>, JournalError> {
    let bad = |what: &'static str, value: &[u8]| JournalError::BadValue {
        location: location.to_owned(),
        what,
        value: String::from_utf8_lossy(value).into_owned(),
    };
    let field = |i: usize| row.get(i).unwrap_or_default();
    let text = |i: usize, what: &'static str| {
        std::str::from_utf8(field(i)).map_err(|_| bad(what, field(i)))
    };
    let number = |i: usize, what: &'static str| -> Result<Option<i64>, JournalError> {
        match field(i) {
            b"" => Ok(None),
            digits => std::str::from_utf8(digits)
                .ok()
                .and_then(|t| t.parse().ok())
                .map(Some)
                .ok_or_else(|| bad(what, digits)),
        }
    };
    let state = std::str::from_utf8(field(2))
        .ok()
        .and_then(SendState::parse)
        .ok_or_else(|| bad("state", field(2)))?;
    let endpoint = std::str::from_utf8(field(3))
        .ok()
        .and_then(Endpoint::from_path)
        .ok_or_else(|| bad("endpoint", field(3)))?;
    let error_class = match field(6) {
        b"" => None,
        class => Some(
            std::str::from_utf8(class)
                .ok()
                .and_then(ErrorClass::parse)
                .ok_or_else(|| bad("error class", class))?,
        ),
    };
    Ok(PlanRecord {
        recipient: text(0, "recipient")?,
        content_hash: text(1, "content hash")?,
        state,
        endpoint,
        error_code: number(4, "error code")?,
        error_text: Some(text(5, "error text")?).filter(|t| !t.is_empty()),
        error_class,
        intent_at_ms: number(7, "intent time")?.ok_or_else(|| bad("intent time", b""))?,
    })
}
