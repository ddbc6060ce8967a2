//! Which stored events belong to a user id, anonymous id or profile. Holds only
//! hashes and locations; the events themselves are read from the log, and
//! their ids checked, when asked for.

use std::sync::RwLock;

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

#[derive(Debug, Default)]
pub struct EventIndex {
    by_id: RwLock<PrehashedMap<u64, Vec<IndexedEvent>>>,
}

impl EventIndex {
    /// Adds events given as `([user_id, anonymous_id, profile_id], event)`,
    /// taking the lock once for all of them.
    pub fn add_all<'a>(&self, events: impl IntoIterator<Item = ([&'a str; 3], IndexedEvent)>) {
        let mut map = self.by_id.write().unwrap_or_else(|e| e.into_inner());
        for ([user_id, anonymous_id, profile_id], event) in events {
            for (kind, id) in [
                (IdKind::UserId, user_id),
                (IdKind::AnonymousId, anonymous_id),
                (IdKind::Profile, profile_id),
            ] {
                if !id.is_empty() {
                    map.entry(id_hash(kind, id)).or_default().push(event);
                }
            }
        }
    }

    /// Drops one record (erased) from the lists of its ids.
    pub fn remove(&self, ids: [&str; 3], location: RecordLocation) {
        let mut map = self.by_id.write().unwrap_or_else(|e| e.into_inner());
        for (kind, id) in [IdKind::UserId, IdKind::AnonymousId, IdKind::Profile]
            .into_iter()
            .zip(ids)
        {
            let hash = id_hash(kind, id);
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
        self.by_id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id_hash(kind, id))
            .cloned()
            .unwrap_or_default()
    }
}
