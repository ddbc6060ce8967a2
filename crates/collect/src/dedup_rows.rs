//! The deduplication window's keys in the state store, so that memory holds
//! only the keys not yet written (a few seconds' worth) however long the
//! window and however busy the sources.
//!
//! Keys are kept in two tables that take turns: a key received at `t`
//! goes into the table of window-long bucket `t / window`, slot `bucket %
//! 2`. A claim at `now` looks in the buckets of `now` and of one window
//! before; anything older is outside the window. A slot is emptied (a
//! cheap `clear`, not a delete per key) when a newer bucket takes it, so
//! expiry costs nothing per key.
//!
//! The meta table holds which bucket each slot holds, the window they were
//! cut with, and the log coverage: every record below it has its key here,
//! so a start remembers only the keys of the records after it.
//!
//! Each slot has a Bloom filter of its keys in memory (`key_filter`, read
//! in at start), so a key never seen costs no read.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use percorso_store::{encode_offsets, Store, StoreError, Table};

use crate::key_filter::KeyFilter;

const SLOT_LABEL: [&[u8]; 2] = [b"slot0", b"slot1"];
const WINDOW_KEY: &[u8] = b"window";
const COVERED_KEY: &[u8] = b"covered";
/// No bucket: an empty slot.
const NO_BUCKET: i64 = i64::MIN;

/// The stored keys of the deduplication window.
#[derive(Debug)]
pub struct DedupRows {
    store: Store,
    slots: [Table; 2],
    meta: Table,
    window_millis: i64,
    slot_state: RwLock<SlotState>,
}

#[derive(Debug, Default)]
struct SlotState {
    /// The bucket each slot holds, as stored.
    labels: [i64; 2],
    /// Each slot's keys.
    filters: [KeyFilter; 2],
}

/// Keys added to the filters per hold of their lock.
const FILTER_CHUNK: usize = 16_384;

impl DedupRows {
    /// Opens the tables for a window of `window_millis`. Keys stored under
    /// another window are dropped, coverage with them (the log then fills
    /// the window again at start).
    pub fn open(store: &Store, window_millis: i64) -> Result<Self, StoreError> {
        let window_millis = window_millis.max(1);
        let slots = [store.table("dedup-0")?, store.table("dedup-1")?];
        let meta = store.table("dedup-meta")?;
        let stored_window = meta.get(WINDOW_KEY)?.map(|v| read_i64(&v));
        let mut labels = [NO_BUCKET; 2];
        if stored_window == Some(window_millis) {
            for (label, key) in labels.iter_mut().zip(SLOT_LABEL) {
                *label = meta.get(key)?.map_or(NO_BUCKET, |v| read_i64(&v));
            }
        } else {
            for table in slots.iter().chain([&meta]) {
                table.clear()?;
            }
            let mut batch = store.batch();
            batch.put(&meta, WINDOW_KEY, &window_millis.to_le_bytes());
            batch.commit()?;
        }
        let mut filters: [KeyFilter; 2] = Default::default();
        for ((filter, table), label) in filters.iter_mut().zip(&slots).zip(labels) {
            if label == NO_BUCKET {
                continue;
            }
            for entry in table.scan(b"", b"") {
                let (key, _) = entry?;
                let key: [u8; 16] = key
                    .as_slice()
                    .try_into()
                    .map_err(|_| table.damaged("a key that is not 16 bytes"))?;
                filter.insert(u128::from_be_bytes(key));
            }
        }
        Ok(Self {
            store: store.clone(),
            slots,
            meta,
            window_millis,
            slot_state: RwLock::new(SlotState { labels, filters }),
        })
    }

    fn state(&self) -> RwLockReadGuard<'_, SlotState> {
        self.slot_state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn state_mut(&self) -> RwLockWriteGuard<'_, SlotState> {
        self.slot_state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Per partition, the offset below which every record's key is stored.
    pub fn covered(&self) -> Result<Vec<u64>, StoreError> {
        self.meta.get_offsets(COVERED_KEY)
    }

    /// Whether `key` was received within the window before `now`.
    pub fn seen(&self, key: u128, now: i64) -> Result<bool, StoreError> {
        let current = self.bucket(now);
        let maybe: Vec<usize> = {
            let state = self.state();
            [current, current - 1]
                .into_iter()
                .filter(|&bucket| {
                    let slot = slot_of(bucket);
                    state.labels[slot] == bucket && state.filters[slot].may_contain(key)
                })
                .map(slot_of)
                .collect()
        };
        for slot in maybe {
            if let Some(value) = self.slots[slot].get(&key.to_be_bytes())? {
                if now - read_i64(&value) < self.window_millis {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Stores `keys` (each with when it was first received) as covering
    /// the log up to `covered`. Keys already outside the window are left
    /// out.
    pub fn write(&self, keys: &[(u128, i64)], covered: &[u64]) -> Result<(), StoreError> {
        let mut labels = self.state().labels;
        let newest = keys.iter().map(|(_, at)| self.bucket(*at)).max();
        let mut batch = self.store.batch();
        if let Some(newest) = newest {
            // Hand each slot to the newest bucket that maps to it; the one
            // it held is at least two windows old.
            for bucket in [newest - 1, newest] {
                let slot = slot_of(bucket);
                if labels[slot] < bucket {
                    self.slots[slot].clear()?;
                    labels[slot] = bucket;
                    batch.put(&self.meta, SLOT_LABEL[slot], &bucket.to_le_bytes());
                }
            }
        }
        // In key order: the store's memtable takes ascending keys near
        // where the last one went, random ones anywhere (a cache miss per
        // level): a fifth off the time of the write.
        let mut sorted = keys.to_vec();
        sorted.sort_unstable_by_key(|(key, _)| *key);
        for (key, at) in &sorted {
            let bucket = self.bucket(*at);
            let slot = slot_of(bucket);
            if labels[slot] == bucket {
                batch.put(&self.slots[slot], &key.to_be_bytes(), &at.to_le_bytes());
            }
        }
        batch.put(&self.meta, COVERED_KEY, &encode_offsets(covered));
        // The labels and filters change only once the store has the keys
        // (a cleared slot reads as empty either way); until this returns,
        // the caller still finds the keys in memory.
        batch.commit()?;
        {
            let state = &mut *self.state_mut();
            let slots = state.labels.iter_mut().zip(&mut state.filters);
            for ((held, filter), label) in slots.zip(labels) {
                if *held != label {
                    *held = label;
                    filter.clear();
                }
            }
        }
        for chunk in keys.chunks(FILTER_CHUNK) {
            let mut state = self.state_mut();
            for (key, at) in chunk {
                let slot = slot_of(self.bucket(*at));
                if state.labels[slot] == self.bucket(*at) {
                    state.filters[slot].insert(*key);
                }
            }
        }
        Ok(())
    }

    fn bucket(&self, at: i64) -> i64 {
        at.div_euclid(self.window_millis)
    }
}

fn slot_of(bucket: i64) -> usize {
    usize::from(bucket.rem_euclid(2) == 1)
}

fn read_i64(bytes: &[u8]) -> i64 {
    bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(NO_BUCKET, i64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: i64 = 1_000;

    #[test]
    fn keys_are_seen_within_the_window_and_slots_are_reused_after_two() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), 1 << 20).expect("open");
        let rows = DedupRows::open(&store, WINDOW).expect("rows");
        rows.write(&[(1, 100), (2, 1_100)], &[5, 7]).expect("write");
        assert!(rows.seen(1, 1_099).unwrap(), "a bucket back");
        assert!(!rows.seen(1, 1_100).unwrap(), "out of the window");
        assert!(rows.seen(2, 2_099).unwrap());
        assert!(!rows.seen(3, 500).unwrap());
        assert_eq!(rows.covered().unwrap(), [5, 7]);

        // Bucket 2 takes slot 0 from bucket 0; bucket 1 keeps slot 1.
        rows.write(&[(3, 2_100)], &[9, 9]).expect("write");
        assert!(rows.seen(3, 2_200).unwrap());
        assert!(!rows.seen(1, 150).unwrap(), "slot 0 holds bucket 2 now");
        assert!(rows.seen(2, 1_850).unwrap());
        assert_eq!(rows.slots[0].get(&1u128.to_be_bytes()).unwrap(), None);
        // A key from two windows back is not stored at all.
        rows.write(&[(4, 50)], &[9, 9]).expect("write");
        assert!(!rows.seen(4, 60).unwrap());

        // Reopened with the same window, all is as it was; with another,
        // nothing is kept (and nothing is covered).
        drop(rows);
        let rows = DedupRows::open(&store, WINDOW).expect("rows");
        assert!(rows.seen(3, 2_200).unwrap());
        assert_eq!(rows.covered().unwrap(), [9, 9]);
        drop(rows);
        let rows = DedupRows::open(&store, 2 * WINDOW).expect("rows");
        assert!(!rows.seen(3, 2_200).unwrap());
        assert!(rows.covered().unwrap().is_empty());
    }
}
