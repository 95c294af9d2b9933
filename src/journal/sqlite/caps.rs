//! The SQLite journal's side of frequency caps: campaigns' tags, and how many messages each
//! recipient of a batch got lately from the other campaigns (through `sends_by_recipient`).

use rusqlite::{ToSql, params, params_from_iter};

use super::SqliteJournal;
use super::lookup::BATCH;
use crate::journal::{BatchOrder, CapQuery, DELIVERED_STATES, JournalError};

impl SqliteJournal {
    /// [`crate::journal::JournalStore::recent_counts`]: one cached statement per tag count,
    /// short batches padded with their last recipient (an `IN` list answers a repeat once).
    pub(super) fn recent(
        &self,
        recipients: &[&str],
        query: &CapQuery,
        each: &mut dyn FnMut(usize, u32),
    ) -> Result<(), JournalError> {
        if recipients.is_empty() {
            return Ok(());
        }
        let placeholders = vec!["?"; BATCH].join(", ");
        let tagged = if query.tags.is_empty() {
            String::new()
        } else {
            let tags = vec!["?"; query.tags.len()].join(", ");
            format!("AND campaign IN (SELECT campaign FROM campaign_tags WHERE tag IN ({tags}))")
        };
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "SELECT recipient, count(*) FROM sends
                 WHERE recipient IN ({placeholders}) AND intent_at_ms >= ? AND campaign <> ?
                   AND state IN {DELIVERED_STATES} {tagged}
                 GROUP BY recipient"
            ))
            .map_err(self.sql())?;
        for (n, batch) in recipients.chunks(BATCH).enumerate() {
            let order = BatchOrder::new(batch, n * BATCH);
            let last = batch.last().copied().unwrap_or_default();
            let mut values: Vec<&dyn ToSql> = Vec::with_capacity(BATCH + 2 + query.tags.len());
            values.extend(batch.iter().map(|r| r as &dyn ToSql));
            values.extend(std::iter::repeat_n(
                &last as &dyn ToSql,
                BATCH - batch.len(),
            ));
            values.push(&query.since_ms);
            values.push(&query.except_campaign);
            values.extend(query.tags.iter().map(|t| t as &dyn ToSql));
            let mut rows = statement
                .query(params_from_iter(values))
                .map_err(self.sql())?;
            while let Some(row) = rows.next().map_err(self.sql())? {
                let recipient: String = row.get(0).map_err(self.sql())?;
                let count: i64 = row.get(1).map_err(self.sql())?;
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                for i in order.indexes_of(&recipient) {
                    each(i, count);
                }
            }
        }
        Ok(())
    }

    /// [`crate::journal::JournalStore::set_tags`].
    pub(super) fn replace_tags(
        &mut self,
        campaign: &str,
        tags: &[String],
    ) -> Result<(), JournalError> {
        let path = self.path.clone();
        let sql = |source| JournalError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "DELETE FROM campaign_tags WHERE campaign = ?1",
            params![campaign],
        )
        .map_err(sql)?;
        for tag in tags {
            tx.execute(
                "INSERT OR IGNORE INTO campaign_tags (campaign, tag) VALUES (?1, ?2)",
                params![campaign, tag],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// [`crate::journal::JournalStore::all_tags`].
    pub(super) fn tags(&self) -> Result<Vec<(String, String)>, JournalError> {
        let mut statement = self
            .conn
            .prepare("SELECT campaign, tag FROM campaign_tags ORDER BY campaign, tag")
            .map_err(self.sql())?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(self.sql())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())
    }
}
