//! Which stored events belong to a user id, anonymous id or profile. Holds only
//! hashes and locations; the events themselves are read from the log, and
//! their ids checked, when asked for.

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

fn id_hash(kind: IdKind, id: &str) -> u64 {
    let tag: &[u8] = match kind {
        IdKind::UserId => b"u\0",
        IdKind::AnonymousId => b"a\0",
        IdKind::Profile => b"p\0",
    };
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(tag);
    hasher.update(id.as_bytes());
    hasher.digest()
}

#[derive(Debug, Clone, Copy)]
pub struct IndexedEvent {
    pub location: RecordLocation,
    pub timestamp: i64,
}

/// The index is split into this many maps, each behind its own lock, by
/// bits of the id hash that the maps' own bucket and tag bits do not use:
/// growing one big map under its write lock held every append for
/// hundreds of milliseconds at a million people, and the engine then
/// took the late records for gaps.
const SHARDS: usize = 64;

fn shard_of(hash: u64) -> usize {
    ((hash >> 40) as usize) % SHARDS
}

type Shard = RwLock<PrehashedMap<u64, Vec<IndexedEvent>>>;

#[derive(Debug)]
pub struct EventIndex {
    shards: Box<[Shard]>,
}

impl Default for EventIndex {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

impl EventIndex {
    fn write(&self, shard: usize) -> RwLockWriteGuard<'_, PrehashedMap<u64, Vec<IndexedEvent>>> {
        self.shards[shard]
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Adds events given as `([user_id, anonymous_id, profile_id], event)`,
    /// taking each shard's lock once for all of them.
    pub fn add_all<'a>(&self, events: impl IntoIterator<Item = ([&'a str; 3], IndexedEvent)>) {
        let events = events.into_iter();
        let mut entries: Vec<(usize, u64, IndexedEvent)> =
            Vec::with_capacity(events.size_hint().0 * 3);
        for ([user_id, anonymous_id, profile_id], event) in events {
            for (kind, id) in [
                (IdKind::UserId, user_id),
                (IdKind::AnonymousId, anonymous_id),
                (IdKind::Profile, profile_id),
            ] {
                if !id.is_empty() {
                    let hash = id_hash(kind, id);
                    entries.push((shard_of(hash), hash, event));
                }
            }
        }
        // Stable: one id's events keep their order.
        entries.sort_by_key(|(shard, _, _)| *shard);
        for run in entries.chunk_by(|a, b| a.0 == b.0) {
            let mut map = self.write(run[0].0);
            for (_, hash, event) in run {
                map.entry(*hash).or_default().push(*event);
            }
        }
    }

    /// Drops one record (erased) from the lists of its ids.
    pub fn remove(&self, ids: [&str; 3], location: RecordLocation) {
        for (kind, id) in [IdKind::UserId, IdKind::AnonymousId, IdKind::Profile]
            .into_iter()
            .zip(ids)
        {
            let hash = id_hash(kind, id);
            let mut map = self.write(shard_of(hash));
            if let Some(events) = map.get_mut(&hash) {
                events.retain(|e| e.location != location);
                if events.is_empty() {
                    map.remove(&hash);
                }
            }
        }
    }

    /// Candidate events for an id; a hash collision may add strangers, so
    /// callers check the stored id.
    pub fn candidates(&self, kind: IdKind, id: &str) -> Vec<IndexedEvent> {
        let hash = id_hash(kind, id);
        self.shards[shard_of(hash)]
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
            .cloned()
            .unwrap_or_default()
    }
}
