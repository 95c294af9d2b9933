//! Which pending recipients share one rendered message: those `apply` may send in one batch.

use super::request;

/// Recipients that share one rendered message, and how many of them are pending.
///
/// Kept as a sorted list of 8-byte hash prefixes rather than a map: a personalised campaign
/// of ten million recipients has ten million distinct messages.
#[derive(Debug, Clone, Default)]
pub struct SharedContent {
    /// (hash prefix, pending recipients with it), only for prefixes shared by two or more.
    shared: Vec<(u64, u64)>,
}

impl SharedContent {
    pub(super) fn from_prefixes(mut prefixes: Vec<u64>) -> Self {
        prefixes.sort_unstable();
        let mut shared = Vec::new();
        let mut i = 0;
        while i < prefixes.len() {
            let mut j = i + 1;
            while j < prefixes.len() && prefixes[j] == prefixes[i] {
                j += 1;
            }
            if j - i >= 2 {
                shared.push((prefixes[i], (j - i) as u64));
            }
            i = j;
        }
        SharedContent { shared }
    }

    /// Pending recipients whose message has this hash (1 when it is theirs alone).
    pub fn recipients_with(&self, hash: &request::ContentHash) -> u64 {
        let prefix = prefix_of(hash);
        self.shared
            .binary_search_by_key(&prefix, |(p, _)| *p)
            .map_or(1, |i| self.shared[i].1)
    }

    /// Sixteen bytes per shared message, for a journal's checkpoint.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        self.shared
            .iter()
            .flat_map(|(prefix, n)| prefix.to_le_bytes().into_iter().chain(n.to_le_bytes()))
            .collect()
    }

    /// What [`SharedContent::to_bytes`] wrote (a torn tail is left out).
    pub(crate) fn from_bytes(bytes: &[u8]) -> Self {
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        SharedContent {
            shared: bytes
                .chunks_exact(16)
                .map(|pair| (word(&pair[..8]), word(&pair[8..])))
                .collect(),
        }
    }

    pub(super) fn sizes(&self) -> impl Iterator<Item = u64> + '_ {
        self.shared.iter().map(|(_, n)| *n)
    }
}

pub(super) fn prefix_of(hash: &request::ContentHash) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash[..8]);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(first: u8) -> request::ContentHash {
        let mut h = request::ContentHash::default();
        h[0] = first;
        h
    }

    #[test]
    fn shared_content_counts_only_messages_two_or_more_recipients_share() {
        let shared = SharedContent::from_prefixes(
            [1u8, 2, 1, 3, 1, 2]
                .iter()
                .map(|b| prefix_of(&hash(*b)))
                .collect(),
        );
        assert_eq!(shared.recipients_with(&hash(1)), 3);
        assert_eq!(shared.recipients_with(&hash(2)), 2);
        // Alone, or never seen: a message of one's own.
        assert_eq!(shared.recipients_with(&hash(3)), 1);
        assert_eq!(shared.recipients_with(&hash(9)), 1);
        let mut sizes: Vec<u64> = shared.sizes().collect();
        sizes.sort_unstable();
        assert_eq!(sizes, [2, 3]);
        // As a checkpoint keeps it.
        let kept = SharedContent::from_bytes(&shared.to_bytes());
        assert_eq!(kept.recipients_with(&hash(1)), 3);
        assert_eq!(kept.recipients_with(&hash(2)), 2);
        assert_eq!(kept.recipients_with(&hash(3)), 1);
    }
}
