//! The PostgreSQL journal's side of frequency caps: campaigns' tags, and how many messages
//! each recipient of a batch got lately from the other campaigns, in one round trip a batch.

use super::PgJournal;
use crate::journal::{BatchOrder, CapQuery, DELIVERED_STATES, JournalError};

impl PgJournal {
    /// [`crate::journal::JournalStore::recent_counts`].
    pub(super) fn recent(
        &self,
        recipients: &[&str],
        query: &CapQuery,
        each: &mut dyn FnMut(usize, u32),
    ) -> Result<(), JournalError> {
        if recipients.is_empty() {
            return Ok(());
        }
        let order = BatchOrder::new(recipients, 0);
        let ids: Vec<String> = recipients.iter().map(|r| (*r).to_owned()).collect();
        let query = query.clone();
        let rows: Vec<(String, i64)> = self.run(move |c| {
            // `cardinality($4) = 0`: no tags, every campaign counts.
            c.query(
                &format!(
                    "SELECT recipient, count(*) FROM sends
                     WHERE recipient = ANY($1) AND intent_at_ms >= $2 AND campaign <> $3
                       AND state IN {DELIVERED_STATES}
                       AND (cardinality($4::text[]) = 0 OR campaign IN
                            (SELECT campaign FROM campaign_tags WHERE tag = ANY($4)))
                     GROUP BY recipient"
                ),
                &[&ids, &query.since_ms, &query.except_campaign, &query.tags],
            )?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
        })?;
        for (recipient, count) in rows {
            let count = u32::try_from(count).unwrap_or(u32::MAX);
            for i in order.indexes_of(&recipient) {
                each(i, count);
            }
        }
        Ok(())
    }

    /// [`crate::journal::JournalStore::set_tags`]: in one transaction.
    pub(super) fn replace_tags(&self, campaign: &str, tags: &[String]) -> Result<(), JournalError> {
        let (campaign, tags) = (campaign.to_owned(), tags.to_vec());
        self.run(move |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "DELETE FROM campaign_tags WHERE campaign = $1",
                &[&campaign],
            )?;
            tx.execute(
                "INSERT INTO campaign_tags (campaign, tag) SELECT $1, unnest($2::text[])
                 ON CONFLICT DO NOTHING",
                &[&campaign, &tags],
            )?;
            tx.commit()
        })
    }

    /// [`crate::journal::JournalStore::all_tags`].
    pub(super) fn tags(&self) -> Result<Vec<(String, String)>, JournalError> {
        self.run(|c| {
            c.query(
                "SELECT campaign, tag FROM campaign_tags ORDER BY campaign, tag",
                &[],
            )?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
        })
    }
}
