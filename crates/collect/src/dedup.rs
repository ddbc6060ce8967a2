//! `messageId` deduplication over a time window. The table lives in memory
//! and is rebuilt from the log on start, so the window survives restarts.
//!
//! A key is *pending* from the moment an event claims it until that event
//! is durable (then *committed*) or failed (then released). A second copy
//! arriving meanwhile must not be acknowledged as a duplicate yet — the
//! first copy might still fail — so it waits for the outcome.

use std::sync::Mutex;

use tokio::sync::watch;

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

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// The caller owns the key: store the event, then `commit` or `release`.
    New,
    /// A copy is durable within the window: the event is a duplicate.
    Duplicate,
    /// Another copy is being stored; wait on this, then claim again.
    InFlight(watch::Receiver<()>),
}

#[derive(Debug, Default)]
struct Shard {
    /// Durable keys and when they were first received.
    committed: PrehashedMap<u128, i64>,
    /// Keys being stored. The channel is made only when a second copy
    /// comes to wait (rare); dropping its sender wakes the waiters.
    pending: PrehashedMap<u128, Option<watch::Sender<()>>>,
}

/// Keys seen within the window.
#[derive(Debug)]
pub struct DedupIndex {
    window_millis: i64,
    shards: Vec<Mutex<Shard>>,
}

impl DedupIndex {
    pub fn new(window_millis: i64) -> Self {
        Self {
            window_millis,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    fn shard(&self, key: u128) -> std::sync::MutexGuard<'_, Shard> {
        // The top bits pick the shard, so keys within a shard still differ
        // in the bits the maps themselves use.
        self.shards[((key >> 120) as usize) % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Claims `key` at time `now`.
    pub fn claim(&self, key: u128, now: i64) -> Claim {
        let mut shard = self.shard(key);
        if let Some(&seen) = shard.committed.get(&key) {
            if now - seen < self.window_millis {
                return Claim::Duplicate;
            }
        }
        if let Some(waiters) = shard.pending.get_mut(&key) {
            let sender = waiters.get_or_insert_with(|| watch::channel(()).0);
            return Claim::InFlight(sender.subscribe());
        }
        shard.pending.insert(key, None);
        Claim::New
    }

    /// The claimed event is durable: later copies are duplicates.
    pub fn commit(&self, key: u128, received_at: i64) {
        let mut shard = self.shard(key);
        shard.pending.remove(&key);
        shard.committed.insert(key, received_at);
    }

    /// The claimed event was not stored: a later copy may claim the key.
    pub fn release(&self, key: u128) {
        self.shard(key).pending.remove(&key);
    }

    /// Records a key found in the log during recovery.
    pub fn remember(&self, key: u128, received_at: i64, now: i64) {
        if now - received_at < self.window_millis {
            let mut shard = self.shard(key);
            let seen = shard.committed.entry(key).or_insert(received_at);
            *seen = (*seen).min(received_at);
        }
    }

    /// Forgets keys older than the window.
    pub fn prune(&self, now: i64) -> usize {
        let mut removed = 0;
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let before = shard.committed.len();
            shard
                .committed
                .retain(|_, seen| now - *seen < self.window_millis);
            removed += before - shard.committed.len();
        }
        removed
    }

    /// Keys held, committed or pending.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let shard = s.lock().unwrap_or_else(|e| e.into_inner());
                shard.committed.len() + shard.pending.len()
            })
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
    fn a_key_is_a_duplicate_only_once_committed_and_within_the_window() {
        let index = DedupIndex::new(1_000);
        let key = dedup_key("src", "m1");
        assert!(matches!(index.claim(key, 0), Claim::New));
        assert!(
            matches!(index.claim(key, 1), Claim::InFlight(_)),
            "not durable yet"
        );
        index.commit(key, 0);
        assert!(matches!(index.claim(key, 999), Claim::Duplicate));
        assert!(
            matches!(index.claim(key, 1_000), Claim::New),
            "outside the window it is new again"
        );
        assert_ne!(dedup_key("src", "m1"), dedup_key("other", "m1"));
    }

    #[test]
    fn waiters_wake_when_the_claim_is_settled_and_a_released_key_is_free() {
        let index = DedupIndex::new(1_000);
        let key = dedup_key("src", "m1");
        assert!(matches!(index.claim(key, 10), Claim::New));
        let Claim::InFlight(waiter) = index.claim(key, 11) else {
            panic!("expected the second copy to wait");
        };
        index.release(key);
        assert!(
            waiter.has_changed().is_err(),
            "the waiter sees the claim settled"
        );
        assert!(matches!(index.claim(key, 12), Claim::New));
        index.remember(dedup_key("src", "old"), 0, 500);
        index.commit(key, 12);
        assert_eq!(index.len(), 2);
        assert_eq!(index.prune(1_005), 1);
        assert!(matches!(index.claim(key, 1_005), Claim::Duplicate));
    }
}
