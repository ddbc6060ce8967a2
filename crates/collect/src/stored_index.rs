//! The event index in the state store, so it costs disk rather than memory
//! (held in memory it was ~2.9 KB per person, the largest part of the
//! server at a million people).
//!
//! Entries are written in chunks: each write makes one row per key and
//! partition, `key ‖ partition ‖ first offset` → the entries packed
//! (offset, segment, position, timestamp, big-endian). One person's events
//! arrive close together, so a write holds most of them in a row or two,
//! where a row per event cost a quarter of the ingest throughput in memtable
//! inserts and compactions (tried on branch `wip-stored-index`).
//!
//! The same atomic batch records how far each partition is covered: every
//! record below that offset has its entries in the store, so a start files
//! only the records after it.

use std::collections::HashSet;

use percorso_log::RecordLocation;
use percorso_store::{encode_offsets, Store, StoreError, Table};

use crate::index::{IndexKey, IndexedEvent, MemoryIndex};

const COVERED_KEY: &[u8] = b"covered";
const ENTRY_BYTES: usize = 32;

#[derive(Debug)]
pub(crate) struct StoredIndex {
    store: Store,
    rows: Table,
    meta: Table,
}

impl StoredIndex {
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            store: store.clone(),
            rows: store.table("event_index")?,
            meta: store.table("event_index_meta")?,
        })
    }

    /// Per partition, the offset below which every record is filed here.
    pub fn covered(&self) -> Result<Vec<u64>, StoreError> {
        self.meta.get_offsets(COVERED_KEY)
    }

    /// Writes every entry of `tiers` and the new coverage in one batch.
    pub fn write(&self, tiers: &[&MemoryIndex], covered: &[u64]) -> Result<(), StoreError> {
        let mut rows = Vec::new();
        for tier in tiers {
            tier.for_each(|key, events| {
                let mut events = events.to_vec();
                events.sort_by_key(|e| (e.location.partition, e.location.offset));
                for run in events.chunk_by(|a, b| a.location.partition == b.location.partition) {
                    rows.push((row_key(key, run[0].location), encode(run)));
                }
            });
        }
        // In key order, which the store's memtable takes faster (see
        // `DedupRows::write`).
        rows.sort_unstable_by_key(|row| row.0);
        let mut batch = self.store.batch();
        for (key, value) in &rows {
            batch.put(&self.rows, key, value);
        }
        batch.put(&self.meta, COVERED_KEY, &encode_offsets(covered));
        batch.commit()
    }

    /// The entries filed under `key`.
    pub fn candidates(&self, key: IndexKey) -> Result<Vec<IndexedEvent>, StoreError> {
        let mut found = Vec::new();
        for row in self.rows.scan(&key.0.to_be_bytes(), &[]) {
            let (key, value) = row?;
            found.extend(decode(&key, &value));
        }
        Ok(found)
    }

    /// Takes the erased records' entries out of the rows under `keys`, in
    /// one batch.
    pub fn remove(
        &self,
        keys: &[IndexKey],
        erased: &HashSet<RecordLocation>,
    ) -> Result<(), StoreError> {
        let mut batch = self.store.batch();
        for key in keys {
            for row in self.rows.scan(&key.0.to_be_bytes(), &[]) {
                let (row_key, value) = row?;
                let entries = decode(&row_key, &value);
                let kept: Vec<IndexedEvent> = entries
                    .iter()
                    .filter(|e| !erased.contains(&e.location))
                    .copied()
                    .collect();
                if kept.is_empty() {
                    batch.delete(&self.rows, &row_key);
                } else if kept.len() < entries.len() {
                    batch.put(&self.rows, &row_key, &encode(&kept));
                }
            }
        }
        batch.commit()
    }
}

fn row_key(key: IndexKey, first: RecordLocation) -> [u8; 18] {
    let mut row = [0; 18];
    row[0..8].copy_from_slice(&key.0.to_be_bytes());
    row[8..10].copy_from_slice(&first.partition.to_be_bytes());
    row[10..18].copy_from_slice(&first.offset.to_be_bytes());
    row
}

/// Entries of one partition.
fn encode(events: &[IndexedEvent]) -> Vec<u8> {
    let mut value = Vec::with_capacity(events.len() * ENTRY_BYTES);
    for event in events {
        value.extend_from_slice(&event.location.offset.to_be_bytes());
        value.extend_from_slice(&event.location.segment.to_be_bytes());
        value.extend_from_slice(&event.location.position.to_be_bytes());
        value.extend_from_slice(&(event.timestamp as u64).to_be_bytes());
    }
    value
}

fn decode(row_key: &[u8], value: &[u8]) -> Vec<IndexedEvent> {
    let partition = u16::from_be_bytes([row_key[8], row_key[9]]);
    value
        .chunks_exact(ENTRY_BYTES)
        .map(|entry| IndexedEvent {
            location: RecordLocation {
                partition,
                offset: be_u64(&entry[0..8]),
                segment: be_u64(&entry[8..16]),
                position: be_u64(&entry[16..24]),
            },
            timestamp: be_u64(&entry[24..32]) as i64,
        })
        .collect()
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut buf = [0; 8];
    buf.copy_from_slice(&bytes[..8]);
    u64::from_be_bytes(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(partition: u16, offset: u64, timestamp: i64) -> IndexedEvent {
        IndexedEvent {
            location: RecordLocation {
                partition,
                offset,
                segment: offset / 10 * 10,
                position: offset * 100,
            },
            timestamp,
        }
    }

    #[test]
    fn chunks_and_coverage_survive_a_reopen_and_removal_rewrites_a_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let (ada, bob) = (IndexKey(7), IndexKey(8));
        {
            let store = Store::open(dir.path(), 1 << 20).unwrap();
            let index = StoredIndex::open(&store).unwrap();
            assert_eq!(index.covered().unwrap(), Vec::<u64>::new());
            let first = MemoryIndex::default();
            // Filed out of offset order (appends complete in any order),
            // across two partitions.
            first.add_all(vec![
                (ada, event(1, 3, -5)),
                (ada, event(1, 2, 30)),
                (ada, event(0, 9, 1)),
                (bob, event(1, 4, 20)),
            ]);
            index.write(&[&first], &[10, 5]).unwrap();
            let second = MemoryIndex::default();
            second.add_all(vec![(ada, event(1, 6, 40))]);
            index.write(&[&second], &[10, 7]).unwrap();
            let erased = HashSet::from([event(1, 2, 30).location]);
            index.remove(&[ada], &erased).unwrap();
        }
        let store = Store::open(dir.path(), 1 << 20).unwrap();
        let index = StoredIndex::open(&store).unwrap();
        assert_eq!(index.covered().unwrap(), [10, 7]);
        let offsets = |key| -> Vec<(u16, u64, i64)> {
            let mut found: Vec<_> = index
                .candidates(key)
                .unwrap()
                .iter()
                .map(|e| (e.location.partition, e.location.offset, e.timestamp))
                .collect();
            found.sort_unstable();
            found
        };
        assert_eq!(offsets(ada), [(0, 9, 1), (1, 3, -5), (1, 6, 40)]);
        assert_eq!(offsets(bob), [(1, 4, 20)]);
        let whole = index.candidates(bob).unwrap();
        assert_eq!(whole, [event(1, 4, 20)], "segment and position kept");
    }
}
