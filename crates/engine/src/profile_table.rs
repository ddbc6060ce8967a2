//! Every profile's state: the recently used ones in memory, all of them in
//! the state store. A state changed since the last checkpoint stays in
//! memory until the checkpoint writes it (with the log offsets it
//! reflects); after that, the least recently used clean states beyond the
//! capacity are dropped and read back from the store when next needed.
//! Without a store (a rebuild in memory) nothing is ever dropped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use compact_str::CompactString;
use percorso_store::{Sealer, Table};

use crate::checkpoint_writer::ProfileRows;
use crate::definitions::Definitions;
use crate::profile::ProfileState;
use crate::sealed_rows::open_row;

#[derive(Debug)]
struct Cached {
    /// Shared with the checkpoint writer while it encodes the state; a
    /// change meanwhile copies it first.
    state: Arc<ProfileState>,
    dirty: bool,
    used: u64,
}

/// What looking for a state found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// In memory (read in if it was only in the store).
    Loaded,
    /// A stored row that can no longer be read: its key was shredded by
    /// an erasure that a crash kept from deleting the row.
    Unreadable,
    Absent,
}

/// States let go from memory, to be freed elsewhere.
pub(crate) type Evicted = Vec<(String, Arc<ProfileState>)>;

/// Clean (written at the last checkpoint) and not waiting for a
/// membership change to be read back.
fn evictable(cached: &Cached) -> bool {
    !cached.dirty && !cached.state.has_pending()
}

#[derive(Debug, Default)]
pub(crate) struct ProfileTable {
    table: Option<Table>,
    /// Ids held inline (they are short): a lookup compares in place.
    hot: HashMap<CompactString, Cached, foldhash::fast::RandomState>,
    /// Removed since the last checkpoint (deleted from the store then).
    removed: HashSet<String>,
    /// Removed in the checkpoint being written: the store still holds
    /// them until it commits.
    removing: HashSet<String>,
    capacity: usize,
    tick: u64,
    count: u64,
    /// States in memory changed since the last checkpoint was taken.
    dirty: usize,
    /// A checkpoint was taken and the store does not have it yet: no
    /// state may leave memory.
    unwritten: bool,
    /// Seals the stored states; a new state takes the next key slot.
    sealer: Option<Arc<Sealer>>,
    next_key_slot: u64,
}

impl ProfileTable {
    pub fn new(table: Option<Table>, capacity: usize, count: u64) -> Self {
        Self {
            table,
            capacity,
            count,
            ..Self::default()
        }
    }

    /// States are stored sealed with `sealer`; new ones take key slots
    /// from `next_key_slot` on.
    pub fn seal_with(&mut self, sealer: Arc<Sealer>, next_key_slot: u64) {
        self.sealer = Some(sealer);
        self.next_key_slot = next_key_slot;
    }

    pub fn sealer(&self) -> Option<&Sealer> {
        self.sealer.as_deref()
    }

    /// The key slot the next new state takes.
    pub fn next_key_slot(&self) -> u64 {
        self.next_key_slot
    }

    /// Loads `id` into memory if it is only in the store; false if it is
    /// nowhere (or cannot be read).
    fn load(&mut self, id: &str, definitions: &Definitions) -> bool {
        self.find(id, definitions) == Found::Loaded
    }

    fn find(&mut self, id: &str, definitions: &Definitions) -> Found {
        self.tick += 1;
        if let Some(cached) = self.hot.get_mut(id) {
            cached.used = self.tick;
            return Found::Loaded;
        }
        if self.removed.contains(id) || self.removing.contains(id) {
            return Found::Absent;
        }
        let Some(table) = &self.table else {
            return Found::Absent;
        };
        let bytes = match table.get(id.as_bytes()) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Found::Absent,
            Err(e) => {
                tracing::error!(profile = id, error = %e, "profile state unreadable");
                return Found::Absent;
            }
        };
        let bytes = match open_row(self.sealer.as_deref(), &bytes) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Found::Unreadable,
            Err(e) => {
                tracing::error!(profile = id, error = %e, "profile state unreadable");
                return Found::Unreadable;
            }
        };
        let mut state: ProfileState = match rmp_serde::from_slice(&bytes) {
            Ok(state) => state,
            Err(e) => {
                tracing::error!(profile = id, error = %e, "profile state undecodable");
                return Found::Unreadable;
            }
        };
        definitions.bring_up_to_date(&mut state);
        let cached = Cached {
            state: Arc::new(state),
            dirty: false,
            used: self.tick,
        };
        self.hot.insert(CompactString::new(id), cached);
        Found::Loaded
    }

    pub fn get(&mut self, id: &str, definitions: &Definitions) -> Option<&ProfileState> {
        self.load(id, definitions);
        self.hot.get(id).map(|c| c.state.as_ref())
    }

    pub fn get_mut(&mut self, id: &str, definitions: &Definitions) -> Option<&mut ProfileState> {
        self.load(id, definitions);
        let cached = self.hot.get_mut(id)?;
        if !cached.dirty {
            cached.dirty = true;
            self.dirty += 1;
        }
        Some(Arc::make_mut(&mut cached.state))
    }

    /// The state of `id`, created empty if it has none.
    pub fn get_or_create(&mut self, id: &str, definitions: &Definitions) -> &mut ProfileState {
        if !self.load(id, definitions) {
            self.removed.remove(id);
            self.count += 1;
            let key_slot = self.next_key_slot;
            self.next_key_slot += 1;
            let state = ProfileState {
                layout: definitions.layout,
                key_slot,
                ..ProfileState::default()
            };
            let cached = Cached {
                state: Arc::new(state),
                dirty: false,
                used: self.tick,
            };
            self.hot.insert(CompactString::new(id), cached);
        }
        let cached = self.hot.get_mut(id).expect("loaded or inserted above");
        if !cached.dirty {
            cached.dirty = true;
            self.dirty += 1;
        }
        Arc::make_mut(&mut cached.state)
    }

    /// Whether `id` has a state that can be read.
    pub fn contains(&mut self, id: &str, definitions: &Definitions) -> bool {
        self.load(id, definitions)
    }

    /// Whether anything of `id` is held: a state in memory, or a row in
    /// the store even if it can no longer be read (its key shredded by an
    /// erasure a crash cut short).
    pub fn holds(&mut self, id: &str, definitions: &Definitions) -> bool {
        self.find(id, definitions) != Found::Absent
    }

    pub fn remove(&mut self, id: &str, definitions: &Definitions) -> Option<ProfileState> {
        match self.find(id, definitions) {
            Found::Loaded => {}
            Found::Absent => return None,
            Found::Unreadable => {
                // A row that can no longer be read goes all the same.
                self.count = self.count.saturating_sub(1);
                self.removed.insert(id.to_owned());
                return None;
            }
        }
        let cached = self.hot.remove(id)?;
        self.count -= 1;
        if cached.dirty {
            self.dirty -= 1;
        }
        if self.table.is_some() {
            self.removed.insert(id.to_owned());
        }
        Some(Arc::unwrap_or_clone(cached.state))
    }

    /// States held in memory.
    pub fn in_memory(&self) -> usize {
        self.hot.len()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Up to `limit` profile ids in id order after `after`. With a store,
    /// call it once a checkpoint is written: the ids come from the store
    /// alone.
    pub fn ids_after(&self, after: Option<&str>, limit: usize) -> Vec<String> {
        let Some(table) = &self.table else {
            let mut ids: Vec<&str> = self
                .hot
                .keys()
                .map(CompactString::as_str)
                .filter(|id| after.is_none_or(|a| *id > a))
                .collect();
            ids.sort_unstable();
            return ids.into_iter().take(limit).map(str::to_owned).collect();
        };
        let start = after.map_or_else(Vec::new, |a| {
            let mut key = a.as_bytes().to_vec();
            key.push(0);
            key
        });
        table
            .scan(b"", &start)
            .filter_map(|item| {
                item.map_err(|e| tracing::error!(error = %e, "profile scan failed"))
                    .ok()
            })
            .filter_map(|(key, _)| String::from_utf8(key).ok())
            .filter(|id| !self.removed.contains(id) && !self.removing.contains(id))
            .take(limit)
            .collect()
    }

    /// The states in memory (a definition's removal updates these at
    /// once; the stored ones catch up as they are read).
    pub fn hot_states_mut(&mut self) -> impl Iterator<Item = &mut ProfileState> {
        self.dirty = self.hot.len();
        self.hot.values_mut().map(|c| {
            c.dirty = true;
            Arc::make_mut(&mut c.state)
        })
    }

    pub fn dirty_len(&self) -> usize {
        if self.table.is_none() {
            return 0;
        }
        self.removed.len() + self.dirty
    }

    /// Takes every change for a checkpoint: removed ids (`None`) and the
    /// changed states, shared rather than copied; with the ids of states
    /// in memory that wait for a membership change to be read back from
    /// the log (one walk over the cache for both).
    pub fn take(&mut self) -> (ProfileRows, Vec<String>) {
        if self.table.is_none() {
            return (Vec::new(), Vec::new());
        }
        let mut taken = Vec::with_capacity(self.removed.len() + self.dirty);
        let mut unsettled = Vec::new();
        for id in self.removed.drain() {
            self.removing.insert(id.clone());
            taken.push((id, None));
        }
        for (id, cached) in &mut self.hot {
            if cached.state.has_pending() {
                unsettled.push(id.to_string());
            }
            if cached.dirty {
                taken.push((id.to_string(), Some(cached.state.clone())));
                cached.dirty = false;
            }
        }
        self.dirty = 0;
        self.unwritten = true;
        (taken, unsettled)
    }

    /// How the checkpoint of the changes last taken went. Written: the
    /// store has them, so states may now leave memory. Failed: each is
    /// taken again by the next checkpoint (`written` holds the ids and
    /// whether each was a removal). Returns the states let go.
    pub fn committed(&mut self, ok: bool, written: &[(String, bool)]) -> Evicted {
        if ok {
            self.removing.clear();
            self.unwritten = false;
            return self.evict();
        }
        for (id, removal) in written {
            if *removal {
                self.removing.remove(id);
            }
            match self.hot.get_mut(id.as_str()) {
                Some(cached) if !cached.dirty => {
                    cached.dirty = true;
                    self.dirty += 1;
                }
                Some(_) => {}
                None => {
                    self.removed.insert(id.clone());
                }
            }
        }
        Vec::new()
    }

    /// Once the store has every change: lets the least recently used
    /// clean states beyond the capacity go (never one waiting for a
    /// membership change), returned for the caller to free.
    pub fn evict(&mut self) -> Evicted {
        if self.table.is_none() || self.unwritten || self.hot.len() <= self.capacity {
            return Vec::new();
        }
        // The last use of the `excess`-th least recently used clean state:
        // that one and every clean state used before it go.
        let mut ticks: Vec<u64> = self
            .hot
            .values()
            .filter(|c| evictable(c))
            .map(|c| c.used)
            .collect();
        let excess = self.hot.len() - self.capacity;
        let Some(index) = excess.min(ticks.len()).checked_sub(1) else {
            return Vec::new();
        };
        let (_, &mut cutoff, _) = ticks.select_nth_unstable(index);
        // The map keeps its size (at most half the capacity more than it
        // needs): shrinking it rehashed every state left.
        self.hot
            .extract_if(|_, c| evictable(c) && c.used <= cutoff)
            .map(|(id, cached)| (id.into_string(), cached.state))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint_writer::{CheckpointWriter, Snapshot};

    fn ids(taken: &[(String, Option<Arc<ProfileState>>)]) -> Vec<(String, bool)> {
        let mut ids: Vec<(String, bool)> = taken
            .iter()
            .map(|(id, state)| (id.clone(), state.is_none()))
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_checkpoint_that_failed_is_taken_again_and_nothing_leaves_memory_before_one_is_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = percorso_store::Store::open(dir.path(), 1 << 20).expect("open");
        let definitions = Definitions::default();
        let stored = store.table("p").expect("table");
        let mut table = ProfileTable::new(Some(stored.clone()), 0, 0);
        table.get_or_create("a", &definitions).events = 1;
        table.get_or_create("b", &definitions).events = 1;
        let (first, _) = table.take();
        assert_eq!(ids(&first), [("a".into(), false), ("b".into(), false)]);
        // Clean and over capacity, but the store does not have them yet.
        table.evict();
        assert_eq!(table.hot.len(), 2);
        // Changed while the writer still holds it: the writer keeps the
        // state it was given.
        table.get_mut("a", &definitions).expect("held").events = 2;
        assert_eq!(
            first
                .iter()
                .find(|(id, _)| id == "a")
                .unwrap()
                .1
                .as_ref()
                .unwrap()
                .events,
            1
        );
        table.remove("b", &definitions);
        let written: Vec<(String, bool)> = ids(&first);
        drop(first);
        table.committed(false, &written);
        let (second, _) = table.take();
        assert_eq!(ids(&second), [("a".into(), false), ("b".into(), true)]);
        assert_eq!(table.get("b", &definitions).map(|s| s.events), None);
        let mut writer = CheckpointWriter::start(store).expect("writer");
        writer.submit(Snapshot {
            profiles: second,
            profile_table: Some(stored),
            ..Snapshot::default()
        });
        let written = writer.wait().expect("in flight");
        assert_eq!(written.result, Ok(()));
        table.committed(true, &written.profiles);
        assert!(table.hot.is_empty(), "written, so let go");
        assert_eq!(table.get("a", &definitions).map(|s| s.events), Some(2));
        assert_eq!(table.get("b", &definitions).map(|s| s.events), None);
    }
}
