//! Compaction: the log's new events into events files, continuously.
//!
//! Each cycle reads every partition from its cursor, turns the events into
//! rows under the profile they belong to now (following merges read from
//! the identity stamps), writes them as one sorted file, then commits the
//! manifest. Small files are merged into bigger ones; when profiles were
//! erased, or many merged, every file is rewritten with the change applied.
//! Merges and rewrites run on their own thread ([`crate::background_merge`]),
//! one at a time, while cycles go on.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use percorso_collect::StoredEvent;
use percorso_identity::IdentityStamp;
use percorso_log::EventLog;
use serde::{Deserialize, Serialize};

use crate::background_merge::{MergePlan, OwnedChanges, RunningMerge};
use crate::error::AnalyticsError;
use crate::rows::{EventRow, RecordFacts};
use crate::schema::profile_key;
use crate::store::{ColumnarStore, DataFile, Manifest, Snapshot, MANIFEST};
use crate::writer::write_rows;

const MERGES: &str = "merges.jsonl";

/// Tuning of compaction.
#[derive(Debug, Clone, Copy)]
pub struct CompactionPolicy {
    /// Events read per cycle at most (bounds the memory of a cycle).
    pub max_rows_per_cycle: usize,
    /// More files than this and the newer ones are merged.
    pub max_files: usize,
    /// Pending merges past this share of rows (or count) force a rewrite.
    pub rewrite_after_moves: usize,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        CompactionPolicy {
            max_rows_per_cycle: 2_000_000,
            max_files: 8,
            rewrite_after_moves: 10_000,
        }
    }
}

/// One merge of profiles, as `merges.jsonl` keeps it (the `identities` table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeLine {
    pub from: String,
    pub into: String,
    /// `received_at` of the event whose resolution merged them.
    pub at: i64,
}

/// What one cycle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CycleReport {
    pub events: u64,
    /// Events with no profile (every identifier blocked): not in the table.
    pub unattributed: u64,
    pub merges: u64,
    pub erased: u64,
    /// Files a merge that finished in this cycle replaced.
    pub files_merged: u64,
    /// The merge that finished was a full rewrite (identity changes applied).
    pub rewritten: bool,
    /// A merge is still running after the cycle.
    pub merging: bool,
    /// More events were waiting when the cycle stopped.
    pub more: bool,
}

#[derive(Debug)]
pub struct Compactor {
    dir: PathBuf,
    store: Arc<ColumnarStore>,
    manifest: Manifest,
    files: Vec<Arc<DataFile>>,
    merges: HashMap<String, String>,
    erased: HashSet<String>,
    erasure_ledger: PathBuf,
    policy: CompactionPolicy,
    merging: Option<RunningMerge>,
}

impl Compactor {
    /// Opens (or creates) the store in `dir`, removing files a crash left
    /// behind that the manifest does not name.
    pub fn open(
        dir: &Path,
        erasure_ledger: &Path,
        policy: CompactionPolicy,
    ) -> Result<Compactor, AnalyticsError> {
        std::fs::create_dir_all(dir).map_err(AnalyticsError::io(dir))?;
        let manifest = Manifest::read(dir)?.unwrap_or_default();
        let named: HashSet<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
        for entry in std::fs::read_dir(dir).map_err(AnalyticsError::io(dir))? {
            let entry = entry.map_err(AnalyticsError::io(dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("events-") && !named.contains(name.as_str()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let merges = read_merges(&dir.join(MERGES), manifest.merges_len)?;
        let files: Vec<Arc<DataFile>> = manifest
            .files
            .iter()
            .map(|f| Arc::new(DataFile::new(dir.join(&f.name), f.stats)))
            .collect();
        let store = Arc::new(ColumnarStore::new(
            dir.to_owned(),
            Snapshot::new(files.clone(), manifest.clone()),
        ));
        let mut compactor = Compactor {
            dir: dir.to_owned(),
            store,
            manifest,
            files,
            merges: merges.into_iter().map(|m| (m.from, m.into)).collect(),
            erased: HashSet::new(),
            erasure_ledger: erasure_ledger.to_owned(),
            policy,
            merging: None,
        };
        let (all, _) = compactor.read_erasures(0)?;
        compactor.erased = all.into_iter().collect();
        Ok(compactor)
    }

    pub fn store(&self) -> Arc<ColumnarStore> {
        self.store.clone()
    }

    /// The profile `id` belongs to now.
    fn canonical<'a>(&'a self, id: &'a str) -> &'a str {
        let mut at = id;
        for _ in 0..64 {
            match self.merges.get(at) {
                Some(next) => at = next,
                None => break,
            }
        }
        at
    }

    /// Erased profile ids from line `from` of the ledger on, and the line count.
    fn read_erasures(&self, from: u64) -> Result<(Vec<String>, u64), AnalyticsError> {
        #[derive(Deserialize)]
        struct Line {
            profiles: Vec<String>,
        }
        let file = match File::open(&self.erasure_ledger) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(e) => return Err(AnalyticsError::io(&self.erasure_ledger)(e)),
        };
        let mut ids = Vec::new();
        let mut lines = 0;
        for line in BufReader::new(file).lines() {
            let line = line.map_err(AnalyticsError::io(&self.erasure_ledger))?;
            // A torn last line is an erasure still being written.
            let Ok(parsed) = serde_json::from_str::<Line>(&line) else {
                break;
            };
            if lines >= from {
                ids.extend(parsed.profiles);
            }
            lines += 1;
        }
        Ok((ids, lines))
    }

    /// Reads what the log gained since the last cycle into a new file, then
    /// merges or rewrites files as the policy says and commits.
    pub fn cycle(&mut self, log: &EventLog, now: i64) -> Result<CycleReport, AnalyticsError> {
        let mut report = CycleReport::default();
        self.finish_merge(false, &mut report)?;
        let (erased, lines) = self.read_erasures(self.manifest.erasures_seen)?;
        report.erased = erased.len() as u64;
        for id in erased {
            self.manifest.pending_erased.push(profile_key(&id));
            self.erased.insert(id);
        }
        self.manifest.erasures_seen = lines;

        let partitions = log.partition_count() as usize;
        self.manifest.cursors.resize(partitions, 0);
        let mut rows = Vec::new();
        let mut new_merges = Vec::new();
        'partitions: for partition in 0..partitions {
            let cursor = self.manifest.cursors[partition];
            let reader = log.reader(partition as u16, cursor)?;
            for record in reader {
                let (record, _) = record?;
                self.manifest.cursors[partition] = record.offset + 1;
                // An erased record reads back empty.
                let Ok(event) = StoredEvent::decode(&record.payload) else {
                    continue;
                };
                if let Ok(stamp) = IdentityStamp::decode(event.stamp) {
                    for merge in stamp.merged {
                        let line = MergeLine {
                            from: merge.from.into_string(),
                            into: merge.into.into_string(),
                            at: event.received_at,
                        };
                        self.manifest
                            .pending_moves
                            .push((profile_key(&line.from), profile_key(&line.into)));
                        self.merges.insert(line.from.clone(), line.into.clone());
                        new_merges.push(line);
                    }
                }
                if event.profile_id.is_empty() {
                    report.unattributed += 1;
                    continue;
                }
                let profile = self.canonical(event.profile_id);
                if self.erased.contains(profile) {
                    continue;
                }
                let facts = RecordFacts {
                    timestamp: event.timestamp,
                    received_at: event.received_at,
                    source_id: event.source_id,
                    user_id: event.user_id,
                    anonymous_id: event.anonymous_id,
                };
                if let Ok(row) = EventRow::from_message(profile, facts, event.json) {
                    self.manifest.fresh_to = self.manifest.fresh_to.max(event.received_at);
                    rows.push(row);
                }
                if rows.len() >= self.policy.max_rows_per_cycle {
                    report.more = true;
                    break 'partitions;
                }
            }
        }
        report.events = rows.len() as u64;
        report.merges = new_merges.len() as u64;
        if !rows.is_empty() {
            let name = self.next_name();
            let stats = write_rows(&self.dir.join(&name), &mut rows)?;
            drop(rows);
            self.add_file(name, stats);
        }
        self.append_merges(&new_merges)?;
        let rewrite_all = !self.manifest.pending_erased.is_empty()
            || self.manifest.pending_moves.len()
                > self
                    .policy
                    .rewrite_after_moves
                    .max(self.manifest.rows() as usize / 100);
        if self.merging.is_none() {
            if rewrite_all && !self.files.is_empty() {
                self.start_merge(0, true)?;
            } else if rewrite_all {
                self.manifest.pending_moves.clear();
                self.manifest.pending_erased.clear();
            } else if self.files.len() > self.policy.max_files {
                self.start_merge(self.first_to_merge(), false)?;
            }
        }
        report.merging = self.merging.is_some();
        self.manifest.built_at = now;
        self.commit()?;
        Ok(report)
    }

    /// Waits for a running merge and commits its result (the command line
    /// does, before it answers from the store).
    pub fn wait_for_merge(&mut self) -> Result<CycleReport, AnalyticsError> {
        let mut report = CycleReport::default();
        if self.finish_merge(true, &mut report)? {
            self.commit()?;
        }
        Ok(report)
    }

    fn next_name(&mut self) -> String {
        self.manifest.generation += 1;
        format!("events-{:010}.parquet", self.manifest.generation)
    }

    fn add_file(&mut self, name: String, stats: crate::writer::FileStats) {
        self.files
            .push(Arc::new(DataFile::new(self.dir.join(&name), stats)));
        self.manifest
            .files
            .push(crate::store::FileEntry { name, stats });
    }

    /// Files from this index on are merged: the newer files, small next to
    /// the older ones; all of them once they are as big as the oldest.
    fn first_to_merge(&self) -> usize {
        let rows: Vec<u64> = self.manifest.files.iter().map(|f| f.stats.rows).collect();
        let mut from = rows.len().saturating_sub(self.policy.max_files / 2).max(1);
        while from > 1 && rows[from..].iter().sum::<u64>() >= rows[from - 1] / 2 {
            from -= 1;
        }
        if from == 1 && rows[1..].iter().sum::<u64>() >= rows[0] / 2 {
            from = 0;
        }
        from
    }

    /// Starts merging the files from `from` on; `rewrite` applies the
    /// pending identity changes too.
    fn start_merge(&mut self, from: usize, rewrite: bool) -> Result<(), AnalyticsError> {
        let paths: Vec<PathBuf> = self.files[from..].iter().map(|f| f.path.clone()).collect();
        let mut changes = OwnedChanges::default();
        if rewrite {
            let adjustments = Snapshot::new(Vec::new(), self.manifest.clone()).adjustments();
            let ids: HashMap<u64, &str> = self
                .merges
                .values()
                .map(|into| (profile_key(into), self.canonical(into)))
                .collect();
            for (from_key, to_key) in &adjustments.moved {
                if let Some(id) = ids.get(to_key) {
                    changes.moved.insert(*from_key, (*id).to_owned());
                }
            }
            changes.erased = adjustments.erased;
        }
        self.manifest.generation += 1;
        let name = format!("events-{:010}.parquet", self.manifest.generation);
        let plan = MergePlan {
            from,
            to: self.files.len(),
            out: self.dir.join(&name),
            name,
            rewrite,
            moves: if rewrite {
                self.manifest.pending_moves.len()
            } else {
                0
            },
            erased: if rewrite {
                self.manifest.pending_erased.len()
            } else {
                0
            },
        };
        self.merging = Some(RunningMerge::start(paths, plan, changes)?);
        Ok(())
    }

    /// Puts a finished merge's output in place of the files it read; with
    /// `wait`, waits for a running one first. Whether one was put in place.
    fn finish_merge(
        &mut self,
        wait: bool,
        report: &mut CycleReport,
    ) -> Result<bool, AnalyticsError> {
        match &self.merging {
            Some(running) if wait || running.is_finished() => {}
            _ => return Ok(false),
        }
        let running = self.merging.take().expect("a merge is running");
        let (stats, plan) = running.join()?;
        for file in self.files.drain(plan.from..plan.to) {
            file.mark_replaced();
        }
        self.manifest.files.drain(plan.from..plan.to);
        if stats.rows > 0 {
            let file = Arc::new(DataFile::new(plan.out.clone(), stats));
            self.files.insert(plan.from, file);
            let entry = crate::store::FileEntry {
                name: plan.name,
                stats,
            };
            self.manifest.files.insert(plan.from, entry);
        } else {
            let _ = std::fs::remove_file(&plan.out);
        }
        self.manifest.pending_moves.drain(..plan.moves);
        self.manifest.pending_erased.drain(..plan.erased);
        report.files_merged += (plan.to - plan.from) as u64;
        report.rewritten |= plan.rewrite;
        Ok(true)
    }

    fn append_merges(&mut self, lines: &[MergeLine]) -> Result<(), AnalyticsError> {
        if lines.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(MERGES);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(AnalyticsError::io(&path))?;
        // Lines past the manifest's length are from a cycle a crash cut short.
        file.set_len(self.manifest.merges_len)
            .map_err(AnalyticsError::io(&path))?;
        let mut body = Vec::new();
        for line in lines {
            serde_json::to_writer(&mut body, line)
                .map_err(|e| AnalyticsError::Schema(e.to_string()))?;
            body.push(b'\n');
        }
        file.write_all(&body)
            .and_then(|()| file.sync_data())
            .map_err(AnalyticsError::io(&path))?;
        self.manifest.merges_len += body.len() as u64;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), AnalyticsError> {
        self.manifest.write(&self.dir)?;
        self.store
            .publish(Snapshot::new(self.files.clone(), self.manifest.clone()));
        Ok(())
    }

    /// Where the manifest lives (for tests and tools).
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join(MANIFEST)
    }
}

/// The merges recorded in `path`, the first `len` bytes.
pub fn read_merges(path: &Path, len: u64) -> Result<Vec<MergeLine>, AnalyticsError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AnalyticsError::io(path)(e)),
    };
    let valid = &bytes[..(len as usize).min(bytes.len())];
    valid
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l)
                .map_err(|e| AnalyticsError::Schema(format!("{}: {e}", path.display())))
        })
        .collect()
}
