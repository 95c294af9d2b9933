//! The PostgreSQL journal: the same records as SQLite's, in a server a team and its CI runners
//! share (`--state postgres://user@host/db`).
//!
//! Tables live in a schema of their own (`timcast`, or `?schema=` in the URL), created and
//! migrated by timcast. A campaign's lock is an advisory lock held by a connection of the
//! applying process, so a runner killed with -9 releases it when the server sees the
//! connection drop. Runners of one app share its rate budget through [`budget`].

pub(crate) mod budget;
mod caps;
mod checkpoint;
mod connection;
mod rows;
pub(crate) mod schema;
mod target;
mod written;

use postgres::fallible_iterator::FallibleIterator;

use super::chunks::{ChunkSender, Chunks};
use super::{
    BatchOrder, COLUMNS, CampaignCounts, CampaignLock, CapQuery, Checkpoint, DELIVERED_STATES,
    JournalError, JournalStore, ON_CONFLICT_KEEP_LATEST, RecentSend, SendRecord, SendState,
};
pub(crate) use connection::Connection;
use rows::{Columns, decode};
pub use target::PgTarget;

/// A journal in PostgreSQL.
#[derive(Debug)]
pub struct PgJournal {
    conn: Connection,
    target: PgTarget,
}

impl PgJournal {
    /// Connects, creating and migrating the schema if needed.
    pub fn open(target: &PgTarget) -> Result<PgJournal, JournalError> {
        let conn = Connection::open(target)?;
        let journal = PgJournal {
            conn,
            target: target.clone(),
        };
        schema::migrate(&journal.conn, target)?;
        Ok(journal)
    }

    /// Connects for reading; `None` when timcast never wrote to this schema.
    pub fn open_existing(target: &PgTarget) -> Result<Option<PgJournal>, JournalError> {
        let conn = Connection::open(target)?;
        match schema::version(&conn, target)? {
            None => Ok(None),
            Some(_) => {
                // An older schema is migrated; a newer one is refused there.
                schema::migrate(&conn, target)?;
                Ok(Some(PgJournal {
                    conn,
                    target: target.clone(),
                }))
            }
        }
    }

    pub fn target(&self) -> &PgTarget {
        &self.target
    }

    fn sql(&self) -> impl Fn(postgres::Error) -> JournalError + use<'_> {
        |source| JournalError::Postgres {
            location: self.target.redacted(),
            error: source,
        }
    }

    /// Runs `job` on the connection, mapping its database errors.
    fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut postgres::Client) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<R, JournalError> {
        self.conn.run(job)?.map_err(self.sql())
    }

    /// Streams the rows of `query` (over `$1` = campaign and, if given, `$2` = states) to
    /// `each` in chunks, the server's rows never all in memory.
    fn stream(
        &self,
        query: String,
        campaign: &str,
        states: Option<Vec<&'static str>>,
        each: &mut dyn FnMut(SendRecord),
    ) -> Result<(), JournalError> {
        for chunk in self.stream_chunks(query, campaign, states)? {
            for record in chunk? {
                each(record);
            }
        }
        Ok(())
    }

    /// Runs `query` on the connection's thread, which sends its records back in chunks, a
    /// few ahead of the reader; dropping the receiver stops it.
    fn stream_chunks(
        &self,
        query: String,
        campaign: &str,
        states: Option<Vec<&'static str>>,
    ) -> Result<Chunks, JournalError> {
        let (mut sender, received) = ChunkSender::channel();
        let campaign = campaign.to_owned();
        let location = self.target.redacted();
        self.conn.submit(move |client| {
            let failed = |error| JournalError::Postgres {
                location: location.clone(),
                error,
            };
            let streamed = (|| {
                let mut rows = match &states {
                    Some(states) => client.query_raw(
                        query.as_str(),
                        [&campaign as &(dyn postgres::types::ToSql + Sync), states],
                    ),
                    None => client.query_raw(query.as_str(), [&campaign]),
                }
                .map_err(failed)?;
                while let Some(row) = rows.next().map_err(failed)? {
                    let record = decode(&row, &location)?;
                    if !sender.push(|chunk: &mut Vec<SendRecord>| chunk.push(record)) {
                        break;
                    }
                }
                Ok(())
            })();
            sender.finish(streamed);
        })?;
        Ok(received)
    }

    /// The records of `recipients` (by index) in `campaign`, one round trip per call.
    fn lookup(
        &self,
        campaign: &str,
        recipients: &[&str],
        each: &mut dyn FnMut(usize, SendRecord),
    ) -> Result<(), JournalError> {
        if recipients.is_empty() {
            return Ok(());
        }
        let order = BatchOrder::new(recipients, 0);
        let ids: Vec<String> = recipients.iter().map(|r| (*r).to_owned()).collect();
        let campaign = campaign.to_owned();
        let rows = self.run(move |c| {
            c.query(
                &format!("SELECT {COLUMNS} FROM sends WHERE campaign = $1 AND recipient = ANY($2)"),
                &[&campaign, &ids],
            )
        })?;
        let location = self.target.redacted();
        for row in rows {
            order.answer(decode(&row, &location)?, each);
        }
        Ok(())
    }
}

impl JournalStore for PgJournal {
    fn location(&self) -> String {
        self.target.redacted()
    }

    fn for_each_record(
        &self,
        campaign: &str,
        each: &mut dyn FnMut(SendRecord),
    ) -> Result<(), JournalError> {
        self.stream(
            format!(
                "SELECT {COLUMNS} FROM sends WHERE campaign = $1 ORDER BY intent_at_ms, recipient"
            ),
            campaign,
            None,
            each,
        )
    }

    fn records_of(
        &self,
        campaign: &str,
        recipients: &[&str],
        each: &mut dyn FnMut(usize, SendRecord),
    ) -> Result<(), JournalError> {
        self.lookup(campaign, recipients, each)
    }

    fn records_in_written_order(
        &self,
        campaign: &str,
        _records: u64,
    ) -> Result<Option<super::RecordStream>, JournalError> {
        written::stream(self, campaign)
    }

    fn count(&self, campaign: &str) -> Result<u64, JournalError> {
        let campaign = campaign.to_owned();
        let n: i64 = self.run(move |c| {
            c.query_one(
                "SELECT count(*) FROM sends WHERE campaign = $1",
                &[&campaign],
            )?
            .try_get(0)
        })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn for_each_record_in(
        &self,
        campaign: &str,
        states: &[SendState],
        each: &mut dyn FnMut(SendRecord),
    ) -> Result<(), JournalError> {
        let states: Vec<&'static str> = states.iter().map(|s| s.as_str()).collect();
        self.stream(
            format!(
                "SELECT {COLUMNS} FROM sends WHERE campaign = $1 AND state = ANY($2)
                 ORDER BY intent_at_ms, recipient"
            ),
            campaign,
            Some(states),
            each,
        )
    }

    fn upsert(&mut self, records: &[SendRecord]) -> Result<(), JournalError> {
        if records.is_empty() {
            return Ok(());
        }
        let columns = Columns::of(records);
        self.run(move |c| {
            // One statement per batch: the arrays are unnested server-side.
            let sql = format!(
                "INSERT INTO sends ({COLUMNS})
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::text[], $7::int8[], $8::int8[], $9::text[], $10::int8[], $11::int8[],
                     $12::text[], $13::text[], $14::int4[], $15::int8[], $16::int8[],
                     $17::text[], $18::text[])
                 {ON_CONFLICT_KEEP_LATEST}"
            );
            c.execute(
                sql.as_str(),
                &[
                    &columns.campaign,
                    &columns.recipient,
                    &columns.content_hash,
                    &columns.state,
                    &columns.endpoint,
                    &columns.call_id,
                    &columns.msg_random,
                    &columns.msg_seq,
                    &columns.msg_key,
                    &columns.msg_time,
                    &columns.error_code,
                    &columns.error_text,
                    &columns.error_class,
                    &columns.attempts,
                    &columns.intent_at_ms,
                    &columns.updated_at_ms,
                    &columns.variant,
                    &columns.locale,
                ],
            )
            .map(drop)
        })
    }

    fn fingerprint(&self, campaign: &str) -> Result<String, JournalError> {
        let campaign = campaign.to_owned();
        self.run(move |c| {
            let row = c.query_one(
                "SELECT count(*)::int8, coalesce(max(updated_at_ms), 0)::int8,
                        coalesce(sum(updated_at_ms), 0)::text, coalesce(sum(attempts), 0)::int8
                 FROM sends WHERE campaign = $1",
                &[&campaign],
            )?;
            Ok(format!(
                "{}-{}-{}-{}",
                row.try_get::<_, i64>(0)?,
                row.try_get::<_, i64>(1)?,
                row.try_get::<_, String>(2)?,
                row.try_get::<_, i64>(3)?
            ))
        })
    }

    fn sent_to_since(
        &self,
        recipient: &str,
        since_ms: i64,
    ) -> Result<Vec<RecentSend>, JournalError> {
        let recipient = recipient.to_owned();
        self.run(move |c| {
            c.query(
                &format!(
                    "SELECT campaign, content_hash, intent_at_ms FROM sends
                 WHERE recipient = $1 AND intent_at_ms >= $2 AND state IN {DELIVERED_STATES}
                 ORDER BY intent_at_ms"
                ),
                &[&recipient, &since_ms],
            )?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .collect()
        })
    }

    fn recent_counts(
        &self,
        recipients: &[&str],
        query: &CapQuery,
        each: &mut dyn FnMut(usize, u32),
    ) -> Result<(), JournalError> {
        self.recent(recipients, query, each)
    }

    fn set_tags(&mut self, campaign: &str, tags: &[String]) -> Result<(), JournalError> {
        self.replace_tags(campaign, tags)
    }

    fn all_tags(&self) -> Result<Vec<(String, String)>, JournalError> {
        self.tags()
    }

    fn plan_applied(&self, plan_id: &str) -> Result<bool, JournalError> {
        let plan_id = plan_id.to_owned();
        self.run(move |c| {
            c.query_opt(
                "SELECT 1 FROM applied_plans WHERE plan_id = $1",
                &[&plan_id],
            )
            .map(|row| row.is_some())
        })
    }

    fn mark_plan_applied(
        &self,
        plan_id: &str,
        campaign: &str,
        at_ms: i64,
    ) -> Result<(), JournalError> {
        let (plan_id, campaign) = (plan_id.to_owned(), campaign.to_owned());
        self.run(move |c| {
            c.execute(
                "INSERT INTO applied_plans (plan_id, campaign, applied_at_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (plan_id) DO NOTHING",
                &[&plan_id, &campaign, &at_ms],
            )
            .map(drop)
        })
    }

    fn checkpoint(&self, campaign: &str) -> Result<Option<Checkpoint>, JournalError> {
        self.read_checkpoint(campaign)
    }

    fn save_checkpoint(&self, campaign: &str, checkpoint: &Checkpoint) -> Result<(), JournalError> {
        self.write_checkpoint(campaign, checkpoint)
    }

    fn advance_checkpoint(
        &self,
        campaign: &str,
        digest: &str,
        row: u64,
    ) -> Result<(), JournalError> {
        self.move_checkpoint(campaign, digest, row)
    }

    /// An advisory lock on a connection of its own: held while the [`CampaignLock`] lives,
    /// released by the server when the connection drops (a crash included).
    fn lock(&self, campaign: &str) -> Result<CampaignLock, JournalError> {
        let conn = Connection::open(&self.target)?;
        let key = lock_key(self.target.schema(), campaign);
        let taken = conn
            .run(move |c| {
                c.query_one(
                    "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                    &[&key],
                )
                .and_then(|row| row.try_get::<_, bool>(0))
            })?
            .map_err(self.sql())?;
        if !taken {
            return Err(JournalError::Locked {
                campaign: campaign.to_owned(),
                location: format!("advisory lock in {}", self.target.redacted()),
            });
        }
        Ok(CampaignLock::new(conn))
    }

    fn campaigns(&self) -> Result<Vec<CampaignCounts>, JournalError> {
        let rows = self.run(|c| {
            c.query(
                "SELECT campaign, state, count(*) FROM sends GROUP BY campaign, state
                 ORDER BY campaign, state",
                &[],
            )
        })?;
        let location = self.target.redacted();
        let mut counted = Vec::with_capacity(rows.len());
        for row in rows {
            let campaign: String = row.try_get(0).map_err(self.sql())?;
            let state: String = row.try_get(1).map_err(self.sql())?;
            let n: i64 = row.try_get(2).map_err(self.sql())?;
            let state = SendState::parse(&state).ok_or_else(|| JournalError::BadValue {
                location: location.clone(),
                what: "state",
                value: state.clone(),
            })?;
            counted.push((campaign, state, u64::try_from(n).unwrap_or(0)));
        }
        Ok(CampaignCounts::fold(counted))
    }

    fn applied_plans(&self) -> Result<Vec<(String, String, i64)>, JournalError> {
        self.run(|c| {
            c.query(
                "SELECT plan_id, campaign, applied_at_ms FROM applied_plans ORDER BY plan_id",
                &[],
            )?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .collect()
        })
    }

    fn schema_version(&self) -> Result<i32, JournalError> {
        Ok(schema::VERSION)
    }

    fn join_rate_budget(
        &self,
        sdkappid: u64,
        campaign: &str,
    ) -> Result<Option<super::RateShare>, JournalError> {
        budget::join(&self.target, sdkappid, campaign).map(Some)
    }
}

/// The advisory lock's key text: one per schema and campaign.
fn lock_key(schema: &str, campaign: &str) -> String {
    format!("timcast:{schema}:{campaign}")
}

/// A database error as one line: the server's message and detail, never a password.
pub(crate) fn error_text(error: &postgres::Error) -> String {
    let text = match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        None => {
            use std::error::Error as _;
            match error.source() {
                Some(cause) => format!("{error}: {cause}"),
                None => error.to_string(),
            }
        }
    };
    target::without_password(&text)
}
