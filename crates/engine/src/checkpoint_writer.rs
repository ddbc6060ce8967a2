//! Writes checkpoints on a thread of its own. The engine thread only takes
//! what changed (moving buffers, sharing profile states) and goes on
//! applying records; encoding the states and committing the batch — a
//! quarter of the engine thread's time when it did them itself, during
//! which no record moved — happen here.
//!
//! One checkpoint is written at a time, in the order taken. Until the
//! store has one, the engine keeps reading its changes from memory (see
//! `BufferedTable::committing` and `ProfileTable::removing`), and states
//! are let go from memory only once it has.

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use percorso_store::{Batch, Sealer, Store, Table};

use crate::profile::ProfileState;
use crate::sealed_rows::seal_row_into;

/// Buffered changes of one table: `None` deletes the key.
pub(crate) type Changes = BTreeMap<crate::buffered::Key, Option<Vec<u8>>>;

/// Profile id → its state, or `None` when the profile is gone.
pub(crate) type ProfileRows = Vec<(String, Option<Arc<ProfileState>>)>;

/// Everything one checkpoint writes, as taken on the engine thread.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub profiles: ProfileRows,
    pub profile_table: Option<Table>,
    /// Seals the states (and its keys are synced before the commit).
    pub sealer: Option<Arc<Sealer>>,
    pub tables: Vec<(Table, Arc<Changes>)>,
    /// The checkpoint record itself, last in the batch.
    pub meta: Option<(Table, Vec<u8>, Vec<u8>)>,
}

/// How a written checkpoint went, with the profiles it carried (id, and
/// whether it was a deletion) so a failure can mark them to write again.
#[derive(Debug)]
pub(crate) struct Written {
    /// The store's error, as text, when the commit failed.
    pub result: Result<(), String>,
    pub profiles: Vec<(String, bool)>,
}

/// Memory the engine is done with. Freeing what a checkpoint lets go
/// (a hundred thousand evicted states, the rows written) took the engine
/// thread up to a second; the writer frees it instead.
pub(crate) type Garbage = Vec<Box<dyn Send>>;

enum Job {
    Write(Snapshot),
    Discard(Garbage),
}

#[derive(Debug)]
pub(crate) struct CheckpointWriter {
    jobs: Option<mpsc::Sender<Job>>,
    results: mpsc::Receiver<Written>,
    in_flight: bool,
    thread: Option<JoinHandle<()>>,
}

impl CheckpointWriter {
    pub fn start(store: Store) -> std::io::Result<Self> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (outbox, results) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("checkpoint-writer".into())
            .spawn(move || {
                for job in inbox {
                    match job {
                        Job::Write(snapshot) => {
                            if outbox.send(write(&store, snapshot)).is_err() {
                                return;
                            }
                        }
                        Job::Discard(garbage) => drop(garbage),
                    }
                }
            })?;
        Ok(Self {
            jobs: Some(jobs),
            results,
            in_flight: false,
            thread: Some(thread),
        })
    }

    /// Hands a snapshot over. Call [`CheckpointWriter::wait`] first: one
    /// checkpoint is in flight at a time.
    pub fn submit(&mut self, snapshot: Snapshot) {
        debug_assert!(!self.in_flight, "a checkpoint is already being written");
        if let Some(jobs) = &self.jobs {
            self.in_flight = jobs.send(Job::Write(snapshot)).is_ok();
        }
    }

    /// Frees `garbage` on the writer's thread.
    pub fn discard(&self, garbage: Garbage) {
        if let Some(jobs) = &self.jobs {
            // Not sent only when the thread is gone: then it is freed here.
            let _ = jobs.send(Job::Discard(garbage));
        }
    }

    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// The result of the checkpoint in flight, once written; `None` when
    /// none is in flight or it is not written yet.
    pub fn poll(&mut self) -> Option<Written> {
        if !self.in_flight {
            return None;
        }
        let written = self.results.try_recv().ok()?;
        self.in_flight = false;
        Some(written)
    }

    /// Waits for the checkpoint in flight, if any.
    pub fn wait(&mut self) -> Option<Written> {
        if !self.in_flight {
            return None;
        }
        self.in_flight = false;
        match self.results.recv() {
            Ok(written) => Some(written),
            Err(_) => Some(Written {
                result: Err("the checkpoint writer stopped".to_owned()),
                profiles: Vec::new(),
            }),
        }
    }
}

impl Drop for CheckpointWriter {
    fn drop(&mut self) {
        self.jobs = None; // ends the thread's loop
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write(store: &Store, mut snapshot: Snapshot) -> Written {
    let started = std::time::Instant::now();
    let states = snapshot.profiles.len();
    let rows: usize = snapshot.tables.iter().map(|(_, c)| c.len()).sum();
    let mut batch = store.batch();
    let mut profiles = Vec::with_capacity(snapshot.profiles.len());
    // A state that cannot be written fails the whole checkpoint: committed
    // without it, its changes would be behind the offsets stored as applied.
    let mut unwritable = None;
    // Reused for every state: growing a fresh buffer to each state's size
    // was a tenth of the writer's time.
    let (mut plain, mut sealed) = (Vec::new(), Vec::new());
    // In order of key slot, so that keys are read a block at a time. The
    // engine shreds no key while a checkpoint is written (see `erase`).
    snapshot
        .profiles
        .sort_unstable_by_key(|(_, state)| state.as_ref().map_or(0, |s| s.key_slot));
    let mut keys = snapshot.sealer.as_deref().map(Sealer::key_reader);
    if let Some(table) = &snapshot.profile_table {
        for (id, state) in snapshot.profiles {
            let deleted = state.is_none();
            // Each state is let go once encoded: the engine copies a state
            // it changes only while this still holds it.
            match state {
                None => batch.delete(table, id.as_bytes()),
                Some(state) => {
                    plain.clear();
                    sealed.clear();
                    let row = rmp_serde::encode::write(&mut plain, &*state)
                        .map_err(|e| e.to_string())
                        .and_then(|()| match &mut keys {
                            Some(keys) => {
                                seal_row_into(keys, state.key_slot, &plain, &mut sealed)
                                    .map_err(|e| e.to_string())?;
                                Ok(&sealed)
                            }
                            None => Ok(&plain),
                        });
                    match row {
                        Ok(row) => batch.put(table, id.as_bytes(), row),
                        Err(e) => {
                            unwritable.get_or_insert_with(|| format!("profile {id}: {e}"));
                        }
                    }
                }
            }
            profiles.push((id, deleted));
        }
    }
    for (table, changes) in &snapshot.tables {
        add_changes(&mut batch, table, changes);
    }
    if let Some((table, key, value)) = &snapshot.meta {
        batch.put(table, key, value);
    }
    let result = match unwritable {
        Some(e) => Err(e),
        None => {
            // The keys the rows are sealed with are durable before the rows.
            let synced = snapshot.sealer.as_ref().map_or(Ok(()), |s| s.sync());
            synced
                .and_then(|()| batch.commit())
                .map_err(|e| e.to_string())
        }
    };
    tracing::debug!(
        states,
        rows,
        millis = started.elapsed().as_millis() as u64,
        ok = result.is_ok(),
        "checkpoint written"
    );
    if result.is_ok() {
        // Only a failed write needs the list back (to mark those states
        // dirty again); freed here rather than on the engine thread.
        profiles = Vec::new();
    }
    Written { result, profiles }
}

pub(crate) fn add_changes(batch: &mut Batch, table: &Table, changes: &Changes) {
    for (key, change) in changes {
        match change {
            Some(value) => batch.put(table, key, value),
            None => batch.delete(table, key),
        }
    }
}
