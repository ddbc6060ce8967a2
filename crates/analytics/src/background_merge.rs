//! One merge of events files at a time, on its own thread, so that the
//! compaction cycle goes on taking new events while it runs: at 100M events
//! a rewrite of every file takes minutes, and freshness is meant to be
//! about a second.
//!
//! The merge reads files `from..to` of the manifest as they were when it
//! started. Files compacted meanwhile are appended after `to`, so when the
//! merge is done its output takes the place of exactly those files. A
//! rewrite applies the merges and erasures pending when it started (the
//! first `moves` and `erased` of the manifest's lists); those that came
//! later stay pending, and queries keep applying them.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::thread::JoinHandle;

use crate::error::AnalyticsError;
use crate::rewrite::{rewrite, Changes};
use crate::writer::FileStats;

/// Identity changes a rewrite applies, owned by its thread.
#[derive(Debug, Default)]
pub struct OwnedChanges {
    /// Key of a profile merged away → the profile id it belongs to now.
    pub moved: HashMap<u64, String>,
    pub erased: HashSet<u64>,
}

/// What a merge replaces and applies.
#[derive(Debug, Clone)]
pub struct MergePlan {
    /// Manifest positions of the files it replaces.
    pub from: usize,
    pub to: usize,
    /// The output's file name and path.
    pub name: String,
    pub out: PathBuf,
    /// Whether identity changes are applied (a full rewrite).
    pub rewrite: bool,
    /// How many of the pending moves and erasures it applies.
    pub moves: usize,
    pub erased: usize,
}

/// A merge in progress.
#[derive(Debug)]
pub struct RunningMerge {
    thread: JoinHandle<Result<FileStats, AnalyticsError>>,
    plan: MergePlan,
}

impl RunningMerge {
    /// Starts merging `paths` (the plan's files) with `changes` applied.
    pub fn start(
        paths: Vec<PathBuf>,
        plan: MergePlan,
        changes: OwnedChanges,
    ) -> Result<Self, AnalyticsError> {
        let out = plan.out.clone();
        let thread = std::thread::Builder::new()
            .name("analytics-merge".into())
            .spawn(move || {
                let changes = Changes {
                    moved: changes
                        .moved
                        .iter()
                        .map(|(k, v)| (*k, v.as_str()))
                        .collect(),
                    erased: changes.erased,
                };
                rewrite(&paths, &out, &changes)
            })
            .map_err(|e| AnalyticsError::Internal(format!("cannot start a merge thread: {e}")))?;
        Ok(RunningMerge { thread, plan })
    }

    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the merge; a failed one leaves no output behind.
    pub fn join(self) -> Result<(FileStats, MergePlan), AnalyticsError> {
        let result = self
            .thread
            .join()
            .unwrap_or_else(|_| Err(AnalyticsError::Internal("a merge thread panicked".into())));
        match result {
            Ok(stats) => Ok((stats, self.plan)),
            Err(error) => {
                let _ = std::fs::remove_file(&self.plan.out);
                Err(error)
            }
        }
    }
}
