//! The book in the state store. A checkpoint writes, in one atomic batch,
//! every state changed since the last one together with the log offsets
//! applied, the back-fills' positions and the definitions' fingerprint.
//! A restart then replays only the log after those offsets. State made
//! under other definitions or an older encoding is emptied and rebuilt
//! from the whole log (a format change is a rebuild, not a migration).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use percorso_store::{Sealer, Store, StoreError, Table};
use serde::{Deserialize, Serialize};

use crate::book::{id_hash, ProfileBook};
use crate::buffered::BufferedTable;
use crate::checkpoint_writer::{CheckpointWriter, Garbage, Snapshot, Written};
use crate::definitions::Definitions;
use crate::journeys::book::{JourneyBook, JourneyStats};
use crate::profile_table::ProfileTable;
use crate::runner::EngineError;
use crate::segments::{SegmentCounts, SegmentMembers};

/// Bump when any stored encoding changes (2: sealed rows; 4: journeys).
const FORMAT: u32 = 4;
const CHECKPOINT_KEY: &[u8] = b"checkpoint";

/// The engine's tables in the state store.
#[derive(Debug, Clone)]
pub struct StateTables {
    store: Store,
    profiles: Table,
    forwarded: Table,
    merges: Table,
    timers: Table,
    members: Table,
    history: Table,
    meta: Table,
    journey_timers: Table,
    outbox: Table,
    dead_letters: Table,
    /// Seals personal data in `profiles` and `merges` (`sealed_rows`).
    pub(crate) sealer: Arc<Sealer>,
}

impl StateTables {
    /// The tables in `store`, with the key slots kept in `key_dir`.
    pub fn open(store: Store, key_dir: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            sealer: Arc::new(Sealer::open(key_dir, "profile")?),
            profiles: store.table("profiles")?,
            forwarded: store.table("forwarded")?,
            merges: store.table("merges")?,
            timers: store.table("timers")?,
            members: store.table("members")?,
            history: store.table("history")?,
            meta: store.table("meta")?,
            journey_timers: store.table("journey_timers")?,
            outbox: store.table("outbox")?,
            dead_letters: store.table("dead_letters")?,
            store,
        })
    }

    fn all(&self) -> [&Table; 10] {
        [
            &self.profiles,
            &self.forwarded,
            &self.merges,
            &self.timers,
            &self.members,
            &self.history,
            &self.meta,
            &self.journey_timers,
            &self.outbox,
            &self.dead_letters,
        ]
    }
}

/// Where the stored state stands.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    format: u32,
    fingerprint: u64,
    applied: Vec<u64>,
    settled: bool,
    /// Profiles with a membership change stated but not yet read back.
    unsettled: Vec<String>,
    segments: BTreeMap<String, SegmentCounts>,
    profiles: u64,
    backfills: Vec<BackfillCursor>,
    /// The key slot the next new state takes.
    #[serde(default)]
    key_slots: u64,
    /// The computations (by position) each back-fill fills.
    #[serde(default)]
    fillers: Vec<(usize, String)>,
    #[serde(default)]
    journey_stats: JourneyStats,
    #[serde(default)]
    schedule_swept: BTreeMap<String, i64>,
}

/// How far a back-fill had read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillCursor {
    pub name: String,
    pub cut: Vec<u64>,
    pub partition: usize,
    /// The next offset to read in `partition`.
    pub offset: u64,
    pub read: u64,
}

impl ProfileBook {
    /// A book over the state store, picking up at its last checkpoint when
    /// that was made under these definitions; else with the store emptied
    /// (replay the whole log). Returns the back-fills to resume.
    pub fn open(
        definitions: Definitions,
        tables: StateTables,
        capacity: usize,
    ) -> Result<(Self, Vec<BackfillCursor>), EngineError> {
        let stored: Option<Checkpoint> = tables
            .meta
            .get(CHECKPOINT_KEY)
            .map_err(EngineError::storage)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let fingerprint = definitions.fingerprint();
        let checkpoint = match stored {
            Some(c) if c.format == FORMAT && c.fingerprint == fingerprint => c,
            stored => {
                if stored.is_some() {
                    tracing::info!("derived state was made under other definitions: rebuilding it from the log");
                }
                for table in tables.all() {
                    table.clear().map_err(EngineError::storage)?;
                }
                Checkpoint::default()
            }
        };
        let buffered = |table: &Table| BufferedTable::new(Some(table.clone()));
        let mut book = Self {
            profiles: ProfileTable::new(
                Some(tables.profiles.clone()),
                capacity,
                checkpoint.profiles,
            ),
            forwarded: buffered(&tables.forwarded),
            merges: buffered(&tables.merges),
            timers: buffered(&tables.timers),
            members: SegmentMembers::new(
                buffered(&tables.members),
                buffered(&tables.history),
                checkpoint.segments,
            ),
            applied: checkpoint.applied,
            settled: checkpoint.settled,
            touched: checkpoint.unsettled.into_iter().collect(),
            journeys: JourneyBook {
                timers: buffered(&tables.journey_timers),
                outbox: buffered(&tables.outbox),
                dead_letters: buffered(&tables.dead_letters),
                stats: checkpoint.journey_stats,
                schedule_swept: checkpoint.schedule_swept,
                ..JourneyBook::default()
            },
            ..Self::new(definitions)
        };
        // After a rebuild (or a lost checkpoint) the counter may lag the
        // key file: slots already keyed are never handed out again.
        let keyed = tables
            .sealer
            .slots_in_file()
            .map_err(EngineError::storage)?;
        book.profiles
            .seal_with(tables.sealer.clone(), checkpoint.key_slots.max(keyed));
        for item in tables.forwarded.scan(b"", b"") {
            let (from, _) = item.map_err(EngineError::storage)?;
            book.forwarded_ids.insert(id_hash(&from));
        }
        for backfill in &checkpoint.backfills {
            book.cuts
                .insert(backfill.name.clone(), backfill.cut.clone());
        }
        for (position, name) in checkpoint.fillers {
            if let Some(computation) = book.definitions.computations.get_mut(position) {
                computation.filler = book.cuts.contains_key(&name).then_some(name);
            }
        }
        let writer = CheckpointWriter::start(tables.store.clone()).map_err(EngineError::storage)?;
        book.writer = Some(writer);
        book.tables = Some(tables);
        Ok((book, checkpoint.backfills))
    }

    /// Where to start reading each partition.
    pub fn applied(&self, partitions: usize) -> Vec<u64> {
        (0..partitions)
            .map(|p| self.applied.get(p).copied().unwrap_or(0))
            .collect()
    }

    /// Whether memory calls for a checkpoint now (else the interval
    /// decides): states past the capacity by half of it, which only a
    /// checkpoint lets go once they are changed, or eight buffered rows
    /// per state of capacity (800,000 rows at the default, 100-200 MB). Writing states
    /// because they changed would rewrite every active profile every few
    /// seconds: at 100,000 active people that was most of the CPU time of
    /// the engine's checkpoints. Four rows per state made a checkpoint of
    /// every active profile per 200,000 membership changes; eight cut the
    /// bench's CPU by 4-12% (states are smaller since computations are
    /// shared, which paid for the rows' memory).
    pub fn checkpoint_due(&self) -> bool {
        let capacity = self.profiles.capacity().max(1);
        (self.profiles.in_memory() >= capacity + capacity / 2 && self.profiles.dirty_len() > 0)
            || self.members.pending_len() + self.timers.pending_len() >= 8 * capacity
    }

    /// Takes everything changed since the last checkpoint, with the
    /// offsets applied and the back-fills' positions, and hands it to the
    /// checkpoint writer (after the one before is written). Nothing to do
    /// in memory only.
    pub fn checkpoint(&mut self) {
        let Some(tables) = self.tables.clone() else {
            return;
        };
        self.finish_checkpoint();
        let (profiles, unsettled) = self.profiles.take();
        let mut snapshot = Snapshot {
            profiles,
            profile_table: Some(tables.profiles.clone()),
            sealer: Some(tables.sealer.clone()),
            ..Snapshot::default()
        };
        snapshot.tables.extend(self.forwarded.take());
        snapshot.tables.extend(self.merges.take());
        snapshot.tables.extend(self.timers.take());
        snapshot.tables.extend(self.members.take());
        snapshot.tables.extend(self.journeys.timers.take());
        snapshot.tables.extend(self.journeys.outbox.take());
        snapshot.tables.extend(self.journeys.dead_letters.take());
        let checkpoint = Checkpoint {
            format: FORMAT,
            fingerprint: self.definitions.fingerprint(),
            applied: self.applied.clone(),
            settled: self.settled,
            unsettled,
            segments: self.members.counts().clone(),
            profiles: self.profiles.count(),
            backfills: self.backfills.clone(),
            key_slots: self.profiles.next_key_slot(),
            fillers: self
                .definitions
                .computations
                .iter()
                .enumerate()
                .filter_map(|(position, c)| Some((position, c.filler.clone()?)))
                .collect(),
            journey_stats: self.journeys.stats.clone(),
            schedule_swept: self.journeys.schedule_swept.clone(),
        };
        let meta = serde_json::to_vec(&checkpoint).unwrap_or_default();
        snapshot.meta = Some((tables.meta.clone(), CHECKPOINT_KEY.to_vec(), meta));
        match &mut self.writer {
            Some(writer) => writer.submit(snapshot),
            None => tracing::error!("no checkpoint writer: state not written"),
        }
    }

    /// A checkpoint written before this returns (stop, erasure, a sweep
    /// over the store).
    pub fn checkpoint_and_wait(&mut self) {
        self.checkpoint();
        self.finish_checkpoint();
    }

    /// Takes note of the checkpoint in flight if it is written by now;
    /// false while it is still being written.
    pub fn poll_checkpoint(&mut self) -> bool {
        let Some(writer) = self.writer.as_mut() else {
            return true;
        };
        if !writer.in_flight() {
            return true;
        }
        match writer.poll() {
            Some(written) => {
                self.checkpoint_written(&written);
                true
            }
            None => false,
        }
    }

    /// Waits for the checkpoint in flight, if any.
    pub(crate) fn finish_checkpoint(&mut self) {
        if let Some(written) = self.writer.as_mut().and_then(CheckpointWriter::wait) {
            self.checkpoint_written(&written);
        }
    }

    fn checkpoint_written(&mut self, written: &Written) {
        let ok = match &written.result {
            Ok(()) => true,
            Err(e) => {
                // Kept in memory; the next checkpoint writes it again.
                tracing::error!(error = %e, "checkpoint failed");
                false
            }
        };
        let mut garbage: Garbage = Vec::new();
        if ok {
            let [members, history] = self.members.committed();
            for rows in [
                self.forwarded.committed(),
                self.merges.committed(),
                self.timers.committed(),
                members,
                history,
                self.journeys.timers.committed(),
                self.journeys.outbox.committed(),
                self.journeys.dead_letters.committed(),
            ] {
                garbage.push(Box::new(rows));
            }
        }
        garbage.push(Box::new(self.profiles.committed(ok, &written.profiles)));
        self.discard(garbage);
    }

    /// Frees `garbage` off the engine thread when there is a writer.
    pub(crate) fn discard(&self, garbage: Garbage) {
        if let Some(writer) = &self.writer {
            writer.discard(garbage);
        }
    }
}
