//! `messageId` deduplication over a time window. Keys received lately
//! are held in memory until the store writer writes them to the state
//! store (`dedup_rows`), then looked up there; a start remembers the keys
//! of the records the store does not cover, so the window survives
//! restarts. Without a store (a rebuild, a reader) memory holds them all.
//!
//! A key is *pending* from the moment an event claims it until that event
//! is durable (then *committed*) or failed (then released). A second copy
//! arriving meanwhile must not be acknowledged as a duplicate yet — the
//! first copy might still fail — so it waits for the outcome.

use std::sync::Mutex;

use percorso_store::StoreError;
use tokio::sync::watch;

use crate::dedup_rows::DedupRows;
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
    /// Durable keys not yet in the store, and when they were first
    /// received.
    committed: PrehashedMap<u128, i64>,
    /// Keys being written to the store: still looked up here until the
    /// store has them.
    writing: PrehashedMap<u128, i64>,
    /// Keys being stored. The channel is made only when a second copy
    /// comes to wait (rare); dropping its sender wakes the waiters.
    pending: PrehashedMap<u128, Option<watch::Sender<()>>>,
}

impl Shard {
    fn seen_since(&self, key: u128) -> Option<i64> {
        self.committed
            .get(&key)
            .or_else(|| self.writing.get(&key))
            .copied()
    }
}

/// Keys seen within the window.
#[derive(Debug)]
pub struct DedupIndex {
    window_millis: i64,
    shards: Vec<Mutex<Shard>>,
    rows: Option<DedupRows>,
}

impl DedupIndex {
    pub fn new(window_millis: i64) -> Self {
        Self {
            window_millis,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            rows: None,
        }
    }

    /// An index whose written keys live in `rows`.
    pub fn stored(window_millis: i64, rows: DedupRows) -> Self {
        Self {
            rows: Some(rows),
            ..Self::new(window_millis)
        }
    }

    /// The stored keys, when there is a store.
    pub fn rows(&self) -> Option<&DedupRows> {
        self.rows.as_ref()
    }

    fn shard(&self, key: u128) -> std::sync::MutexGuard<'_, Shard> {
        // The top bits pick the shard, so keys within a shard still differ
        // in the bits the maps themselves use.
        self.shards[((key >> 120) as usize) % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Claims `key` at time `now`.
    pub fn claim(&self, key: u128, now: i64) -> Result<Claim, StoreError> {
        {
            let mut shard = self.shard(key);
            if let Some(seen) = shard.seen_since(key) {
                if now - seen < self.window_millis {
                    return Ok(Claim::Duplicate);
                }
            }
            if let Some(waiters) = shard.pending.get_mut(&key) {
                let sender = waiters.get_or_insert_with(|| watch::channel(()).0);
                return Ok(Claim::InFlight(sender.subscribe()));
            }
            // Claimed before the store is read: a key leaves memory only
            // once the store has it, so a copy that is not in memory now
            // is either in the store or not durable anywhere.
            shard.pending.insert(key, None);
        }
        let Some(rows) = &self.rows else {
            return Ok(Claim::New);
        };
        match rows.seen(key, now) {
            Ok(false) => Ok(Claim::New),
            Ok(true) => {
                self.release(key);
                Ok(Claim::Duplicate)
            }
            Err(e) => {
                self.release(key);
                Err(e)
            }
        }
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

    /// Forgets keys older than the window (in the store, older slots are
    /// dropped as newer keys are written).
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

    /// Writes the committed keys to the store as covering the log up to
    /// `covered`, then lets them go; returns how many. The caller makes
    /// sure every record below `covered` has committed its key by now.
    pub fn write(&self, covered: &[u64]) -> Result<usize, StoreError> {
        let Some(rows) = &self.rows else {
            return Ok(0);
        };
        let mut keys = Vec::new();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let committed = std::mem::take(&mut shard.committed);
            keys.extend(committed.iter().map(|(k, at)| (*k, *at)));
            shard.writing = committed;
        }
        let result = rows.write(&keys, covered);
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let writing = std::mem::take(&mut shard.writing);
            if result.is_err() {
                // Kept for the next write.
                for (key, at) in writing {
                    let seen = shard.committed.entry(key).or_insert(at);
                    *seen = (*seen).min(at);
                }
            }
        }
        result.map(|()| keys.len())
    }

    /// Keys held in memory, committed, being written or pending.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let shard = s.lock().unwrap_or_else(|e| e.into_inner());
                shard.committed.len() + shard.writing.len() + shard.pending.len()
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
        assert!(matches!(index.claim(key, 0), Ok(Claim::New)));
        assert!(
            matches!(index.claim(key, 1), Ok(Claim::InFlight(_))),
            "not durable yet"
        );
        index.commit(key, 0);
        assert!(matches!(index.claim(key, 999), Ok(Claim::Duplicate)));
        assert!(
            matches!(index.claim(key, 1_000), Ok(Claim::New)),
            "outside the window it is new again"
        );
        assert_ne!(dedup_key("src", "m1"), dedup_key("other", "m1"));
    }

    #[test]
    fn waiters_wake_when_the_claim_is_settled_and_a_released_key_is_free() {
        let index = DedupIndex::new(1_000);
        let key = dedup_key("src", "m1");
        assert!(matches!(index.claim(key, 10), Ok(Claim::New)));
        let Ok(Claim::InFlight(waiter)) = index.claim(key, 11) else {
            panic!("expected the second copy to wait");
        };
        index.release(key);
        assert!(
            waiter.has_changed().is_err(),
            "the waiter sees the claim settled"
        );
        assert!(matches!(index.claim(key, 12), Ok(Claim::New)));
        index.remember(dedup_key("src", "old"), 0, 500);
        index.commit(key, 12);
        assert_eq!(index.len(), 2);
        assert_eq!(index.prune(1_005), 1);
        assert!(matches!(index.claim(key, 1_005), Ok(Claim::Duplicate)));
    }

    #[test]
    fn written_keys_are_found_in_the_store_and_leave_memory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = percorso_store::Store::open(dir.path(), 1 << 20).expect("open");
        let rows = DedupRows::open(&store, 1_000).expect("rows");
        let index = DedupIndex::stored(1_000, rows);
        let (written, unwritten) = (dedup_key("src", "w"), dedup_key("src", "u"));
        assert!(matches!(index.claim(written, 5), Ok(Claim::New)));
        index.commit(written, 5);
        assert_eq!(index.write(&[3]).unwrap(), 1);
        assert!(matches!(index.claim(unwritten, 6), Ok(Claim::New)));
        assert_eq!(index.len(), 1, "only the pending claim is in memory");
        assert!(matches!(index.claim(written, 900), Ok(Claim::Duplicate)));
        assert!(
            matches!(index.claim(written, 1_005), Ok(Claim::New)),
            "the store keeps the window too"
        );
        assert_eq!(index.rows().unwrap().covered().unwrap(), [3]);
    }
}
