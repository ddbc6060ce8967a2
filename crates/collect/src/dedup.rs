//! `messageId` deduplication over a time window. The table lives in memory
//! and is rebuilt from the log on start, so the window survives restarts.

use std::sync::Mutex;

use crate::prehashed::PrehashedMap;

const SHARDS: usize = 32;

/// The key an event is deduplicated by: its source and its `messageId`.
pub fn dedup_key(source_id: &str, message_id: &str) -> u128 {
    let mut bytes = Vec::with_capacity(source_id.len() + 1 + message_id.len());
    bytes.extend_from_slice(source_id.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(message_id.as_bytes());
    xxhash_rust::xxh3::xxh3_128(&bytes)
}

/// Keys seen within the window, each with the time it was first received.
#[derive(Debug)]
pub struct DedupIndex {
    window_millis: i64,
    shards: Vec<Mutex<PrehashedMap<u128, i64>>>,
}

impl DedupIndex {
    pub fn new(window_millis: i64) -> Self {
        Self {
            window_millis,
            shards: (0..SHARDS)
                .map(|_| Mutex::new(PrehashedMap::default()))
                .collect(),
        }
    }

    fn shard(&self, key: u128) -> std::sync::MutexGuard<'_, PrehashedMap<u128, i64>> {
        // The top bits pick the shard, so keys within a shard still differ
        // in the bits the map itself uses.
        self.shards[((key >> 120) as usize) % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Claims `key` at time `now`. Returns false if it was already claimed
    /// within the window (the event is a duplicate).
    pub fn claim(&self, key: u128, now: i64) -> bool {
        let mut shard = self.shard(key);
        match shard.get(&key) {
            Some(&seen) if now - seen < self.window_millis => false,
            _ => {
                shard.insert(key, now);
                true
            }
        }
    }

    /// Gives a claim back (the event it was made for was not stored).
    pub fn release(&self, key: u128, claimed_at: i64) {
        let mut shard = self.shard(key);
        if shard.get(&key) == Some(&claimed_at) {
            shard.remove(&key);
        }
    }

    /// Records a key found in the log during recovery.
    pub fn remember(&self, key: u128, received_at: i64, now: i64) {
        if now - received_at < self.window_millis {
            let mut shard = self.shard(key);
            let seen = shard.entry(key).or_insert(received_at);
            *seen = (*seen).min(received_at);
        }
    }

    /// Forgets keys older than the window.
    pub fn prune(&self, now: i64) -> usize {
        let mut removed = 0;
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let before = shard.len();
            shard.retain(|_, seen| now - *seen < self.window_millis);
            removed += before - shard.len();
        }
        removed
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_a_duplicate_only_within_the_window() {
        let index = DedupIndex::new(1_000);
        let key = dedup_key("src", "m1");
        assert!(index.claim(key, 0));
        assert!(!index.claim(key, 999));
        assert!(
            index.claim(key, 1_000),
            "outside the window it is new again"
        );
        assert_ne!(dedup_key("src", "m1"), dedup_key("other", "m1"));
    }

    #[test]
    fn released_claims_and_pruned_keys_are_forgotten() {
        let index = DedupIndex::new(1_000);
        let key = dedup_key("src", "m1");
        assert!(index.claim(key, 10));
        index.release(key, 10);
        assert!(index.claim(key, 11));
        index.remember(dedup_key("src", "old"), 0, 500);
        assert_eq!(index.len(), 2);
        assert_eq!(index.prune(1_005), 1);
        assert!(!index.claim(key, 1_005));
    }
}
