//! Which stored events belong to a profile (or a stray id, see `index`):
//! recent entries in memory, the rest in the state store.
//!
//! Ingest files entries in the `recent` tier and marks their records as
//! covered. A write moves that tier aside (`unwritten`), writes it with the
//! coverage as it stood at that moment, and lets it go once the store has
//! it. Entries beyond a gap in the coverage are written too, and filed
//! again after a crash: chunks overlap then. Readers look in every tier
//! and the store, and get each record once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use percorso_log::RecordLocation;
use percorso_store::{Store, StoreError};

use crate::coverage::Coverage;
use crate::index::{IndexKey, IndexedEvent, MemoryIndex};
use crate::stored_index::StoredIndex;

#[derive(Debug, Default)]
struct Tiers {
    recent: Arc<MemoryIndex>,
    /// Of everything filed so far, in the store or in a tier. Changed with
    /// the tiers read-locked, so a set-aside (write-locked) sees it match
    /// the tier it takes.
    coverage: Mutex<Coverage>,
    /// Moved aside for a write; more than one when a write failed and the
    /// next one takes it again.
    unwritten: Vec<Arc<MemoryIndex>>,
}

#[derive(Debug, Default)]
pub struct EventIndex {
    tiers: RwLock<Tiers>,
    /// `None` for a collector that only reads: it cannot open the store
    /// beside the server that holds it, and keeps everything in memory.
    stored: Option<StoredIndex>,
    /// One write at a time; an erasure waits for it, so that a write
    /// cannot put back rows the erasure just took out.
    writing: Mutex<()>,
}

impl EventIndex {
    pub(crate) fn stored(store: &Store) -> Result<Self, StoreError> {
        let stored = StoredIndex::open(store)?;
        let tiers = Tiers {
            coverage: Mutex::new(Coverage::from_offsets(&stored.covered()?)),
            ..Tiers::default()
        };
        Ok(Self {
            tiers: RwLock::new(tiers),
            stored: Some(stored),
            writing: Mutex::default(),
        })
    }

    fn tiers(&self) -> std::sync::RwLockReadGuard<'_, Tiers> {
        self.tiers.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Lowers the coverage to the log's end offsets; returns it.
    pub(crate) fn clamp_coverage(&self, ends: &[u64]) -> Vec<u64> {
        let tiers = self.tiers();
        let mut coverage = lock(&tiers.coverage);
        coverage.clamp(ends);
        coverage.below()
    }

    /// Files the entries of `records` (every record, even one with no
    /// entry: coverage counts records).
    pub fn add_all(&self, entries: Vec<(IndexKey, IndexedEvent)>, records: &[RecordLocation]) {
        let tiers = self.tiers();
        tiers.recent.add_all(entries);
        lock(&tiers.coverage).add(records);
    }

    /// Entries held in memory, waiting to be written.
    pub fn in_memory(&self) -> usize {
        let tiers = self.tiers();
        tiers.recent.len() + tiers.unwritten.iter().map(|t| t.len()).sum::<usize>()
    }

    /// Entries filed under any of `keys`, each record once, in log order;
    /// a hash collision may add strangers, so callers check the stored id.
    pub fn candidates(&self, keys: &[IndexKey]) -> Result<Vec<IndexedEvent>, StoreError> {
        // The tiers before the store: a tier is let go only once the store
        // has its entries.
        let tiers: Vec<Arc<MemoryIndex>> = {
            let tiers = self.tiers();
            std::iter::once(&tiers.recent)
                .chain(&tiers.unwritten)
                .cloned()
                .collect()
        };
        let mut found = Vec::new();
        for &key in keys {
            found.extend(tiers.iter().flat_map(|t| t.candidates(key)));
            if let Some(stored) = &self.stored {
                found.extend(stored.candidates(key)?);
            }
        }
        // A record is in a tier and the store a moment after its write,
        // and under two keys when one of its ids was stray.
        found.sort_by_key(|c| (c.location.partition, c.location.offset));
        found.dedup_by_key(|c| c.location);
        Ok(found)
    }

    /// Takes erased records out under every key they were filed under.
    pub fn remove(&self, filed: &[(IndexKey, RecordLocation)]) -> Result<(), StoreError> {
        let _no_write = self.lock_writing();
        {
            let tiers = self.tiers();
            for tier in std::iter::once(&tiers.recent).chain(&tiers.unwritten) {
                for (key, location) in filed {
                    tier.remove(*key, *location);
                }
            }
        }
        if let Some(stored) = &self.stored {
            let erased: HashSet<RecordLocation> = filed.iter().map(|(_, l)| *l).collect();
            let mut keys: Vec<IndexKey> = filed.iter().map(|(k, _)| *k).collect();
            keys.sort_unstable();
            keys.dedup();
            stored.remove(&keys, &erased)?;
        }
        Ok(())
    }

    fn lock_writing(&self) -> MutexGuard<'_, ()> {
        lock(&self.writing)
    }

    /// Writes the recent entries to the store with the coverage they
    /// complete, and lets them go once the store has them; returns how
    /// many. On failure they stay for the next write.
    pub(crate) fn write(&self) -> Result<usize, StoreError> {
        if self.stored.is_none() {
            return Ok(0);
        }
        let _writing = self.lock_writing();
        let covered = self.set_aside();
        self.write_set_aside(&covered)
    }

    /// Moves the recent entries aside for a write; returns the coverage
    /// they complete. Call with `lock_writing` held.
    fn set_aside(&self) -> Vec<u64> {
        let mut tiers = self.tiers.write().unwrap_or_else(|e| e.into_inner());
        if !tiers.recent.is_empty() {
            let recent = std::mem::take(&mut tiers.recent);
            tiers.unwritten.push(recent);
        }
        let covered = lock(&tiers.coverage).below();
        covered
    }

    /// Writes the entries set aside, with `covered` as the new coverage,
    /// and lets them go once the store has them. On failure they stay for
    /// the next write. Call with `lock_writing` held.
    fn write_set_aside(&self, covered: &[u64]) -> Result<usize, StoreError> {
        let Some(stored) = &self.stored else {
            return Ok(0);
        };
        let unwritten: Vec<Arc<MemoryIndex>> = self.tiers().unwritten.clone();
        let refs: Vec<&MemoryIndex> = unwritten.iter().map(Arc::as_ref).collect();
        stored.write(&refs, covered)?;
        let written = refs.iter().map(|t| t.len()).sum();
        let mut tiers = self.tiers.write().unwrap_or_else(|e| e.into_inner());
        tiers
            .unwritten
            .retain(|t| !unwritten.iter().any(|w| Arc::ptr_eq(t, w)));
        Ok(written)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
