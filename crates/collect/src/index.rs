//! The part of the event index held in memory: entries for records not yet
//! written to the state store (or, for a collector that only reads, all of
//! them). Holds only hashes and locations; the events themselves are read
//! from the log, and their ids checked, when asked for.
//!
//! An event is filed under the profile identity resolution stamped on it.
//! A user or anonymous id is found through the identity graph (its owner,
//! and every profile merged into that one), so it is filed under the id
//! itself only when that does not find it: a stray id, one the graph gave
//! to no profile or to another (a blocked value, one dropped by a limit).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockWriteGuard};

use percorso_log::RecordLocation;

use crate::prehashed::PrehashedMap;

/// The kind of identifier an event is looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    UserId,
    AnonymousId,
    /// The profile identity resolution stamped on the event (not the
    /// profiles merged into it: ask for each of those too).
    Profile,
}

/// What entries are filed under: a hash of an id and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndexKey(pub u64);

impl IndexKey {
    pub fn new(kind: IdKind, id: &str) -> Self {
        let tag: &[u8] = match kind {
            IdKind::UserId => b"u\0",
            IdKind::AnonymousId => b"a\0",
            IdKind::Profile => b"p\0",
        };
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(tag);
        hasher.update(id.as_bytes());
        Self(hasher.digest())
    }

    pub fn profile(id: &str) -> Self {
        Self::new(IdKind::Profile, id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedEvent {
    pub location: RecordLocation,
    pub timestamp: i64,
}

/// The index is split into this many maps, each behind its own lock, by
/// bits of the key that the maps' own bucket and tag bits do not use:
/// growing one big map under its write lock held every append for
/// hundreds of milliseconds at a million people, and the engine then
/// took the late records for gaps.
const SHARDS: usize = 64;

fn shard_of(key: IndexKey) -> usize {
    ((key.0 >> 40) as usize) % SHARDS
}

type Shard = RwLock<PrehashedMap<u64, Vec<IndexedEvent>>>;

#[derive(Debug)]
pub struct MemoryIndex {
    shards: Box<[Shard]>,
    entries: AtomicUsize,
}

impl Default for MemoryIndex {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            entries: AtomicUsize::new(0),
        }
    }
}

impl MemoryIndex {
    fn write(&self, shard: usize) -> RwLockWriteGuard<'_, PrehashedMap<u64, Vec<IndexedEvent>>> {
        self.shards[shard]
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Files every entry, taking each shard's lock once for all of them.
    pub fn add_all(&self, mut entries: Vec<(IndexKey, IndexedEvent)>) {
        self.entries.fetch_add(entries.len(), Ordering::Relaxed);
        // Stable: one key's events keep their order.
        entries.sort_by_key(|(key, _)| shard_of(*key));
        for run in entries.chunk_by(|a, b| shard_of(a.0) == shard_of(b.0)) {
            let mut map = self.write(shard_of(run[0].0));
            for (key, event) in run {
                map.entry(key.0).or_default().push(*event);
            }
        }
    }

    /// Drops the entries of one record (erased) filed under `key`.
    pub fn remove(&self, key: IndexKey, location: RecordLocation) {
        let mut map = self.write(shard_of(key));
        if let Some(events) = map.get_mut(&key.0) {
            let before = events.len();
            events.retain(|e| e.location != location);
            self.entries
                .fetch_sub(before - events.len(), Ordering::Relaxed);
            if events.is_empty() {
                map.remove(&key.0);
            }
        }
    }

    /// Entries filed under `key`; a hash collision may add strangers, so
    /// callers check the stored id.
    pub fn candidates(&self, key: IndexKey) -> Vec<IndexedEvent> {
        self.shards[shard_of(key)]
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key.0)
            .cloned()
            .unwrap_or_default()
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.entries.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `each` with every key and its entries, one shard locked at a
    /// time.
    pub fn for_each(&self, mut each: impl FnMut(IndexKey, &[IndexedEvent])) {
        for shard in self.shards.iter() {
            let map = shard.read().unwrap_or_else(|e| e.into_inner());
            for (key, events) in map.iter() {
                each(IndexKey(*key), events);
            }
        }
    }
}
