//! The columnar store's files and the snapshots queries read.
//!
//! `analytics/manifest.json` is the commit point: a file counts once the
//! manifest names it. A query takes a [`Snapshot`] (the files of one
//! manifest) and keeps reading them even while the compactor replaces them:
//! a replaced file is deleted when the last snapshot using it is dropped.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::error::AnalyticsError;
use crate::runs::Adjustments;
use crate::writer::FileStats;

pub const MANIFEST: &str = "manifest.json";

/// One events file as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    #[serde(flatten)]
    pub stats: FileStats,
}

/// What the store holds, as last committed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Numbers new files.
    pub generation: u64,
    /// Per log partition, the offset of the first record not yet in a file.
    pub cursors: Vec<u64>,
    pub files: Vec<FileEntry>,
    /// Merges `(from key, into key)` made after the files were written.
    pub pending_moves: Vec<(u64, u64)>,
    /// Erased profiles whose events the files may still hold.
    pub pending_erased: Vec<u64>,
    /// Bytes of `merges.jsonl` that count.
    pub merges_len: u64,
    /// Lines of the erasure ledger already applied.
    pub erasures_seen: u64,
    /// Greatest `received_at` of the events in the files.
    pub fresh_to: i64,
    /// When the manifest was committed (epoch ms).
    pub built_at: i64,
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Option<Manifest>, AnalyticsError> {
        let path = dir.join(MANIFEST);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| AnalyticsError::Manifest {
                        path,
                        message: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AnalyticsError::io(&path)(e)),
        }
    }

    pub fn write(&self, dir: &Path) -> Result<(), AnalyticsError> {
        let path = dir.join(MANIFEST);
        let body = serde_json::to_vec_pretty(self).map_err(|e| AnalyticsError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        percorso_collect::atomic_write(&path, &body).map_err(|e| AnalyticsError::Manifest {
            path,
            message: e.to_string(),
        })
    }

    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.stats.rows).sum()
    }
}

/// An events file some snapshot may read.
#[derive(Debug)]
pub struct DataFile {
    pub path: PathBuf,
    pub stats: FileStats,
    replaced: AtomicBool,
}

impl DataFile {
    pub fn new(path: PathBuf, stats: FileStats) -> Self {
        DataFile {
            path,
            stats,
            replaced: AtomicBool::new(false),
        }
    }

    /// The file is no longer in the manifest: delete it once unused.
    pub fn mark_replaced(&self) {
        self.replaced.store(true, Ordering::Release);
    }
}

impl Drop for DataFile {
    fn drop(&mut self) {
        if self.replaced.load(Ordering::Acquire) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The files of one manifest, and what the files do not show yet.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub files: Vec<Arc<DataFile>>,
    pub manifest: Manifest,
    adjustments: Adjustments,
}

impl Snapshot {
    pub fn new(files: Vec<Arc<DataFile>>, manifest: Manifest) -> Self {
        let adjustments = adjustments_of(&manifest);
        Snapshot {
            files,
            manifest,
            adjustments,
        }
    }

    /// A snapshot of files written outside a compactor (benchmarks, tests).
    pub fn of_files(files: Vec<(PathBuf, FileStats)>) -> Self {
        let manifest = Manifest {
            files: files
                .iter()
                .map(|(path, stats)| FileEntry {
                    name: path.to_string_lossy().into_owned(),
                    stats: *stats,
                })
                .collect(),
            ..Manifest::default()
        };
        let files = files
            .into_iter()
            .map(|(path, stats)| Arc::new(DataFile::new(path, stats)))
            .collect();
        Snapshot::new(files, manifest)
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }

    pub fn adjustments(&self) -> Adjustments {
        self.adjustments.clone()
    }

    pub fn rows(&self) -> u64 {
        self.manifest.rows()
    }
}

/// Pending moves followed to their end (a profile merged into one that was
/// itself merged later belongs to the last).
fn adjustments_of(manifest: &Manifest) -> Adjustments {
    let direct: HashMap<u64, u64> = manifest.pending_moves.iter().copied().collect();
    let mut moved = HashMap::with_capacity(direct.len());
    for &from in direct.keys() {
        let mut to = from;
        let mut steps = 0;
        while let Some(&next) = direct.get(&to) {
            to = next;
            steps += 1;
            if steps > direct.len() {
                break;
            }
        }
        if to != from {
            moved.insert(from, to);
        }
    }
    let receivers: HashSet<u64> = moved.values().copied().collect();
    Adjustments {
        moved,
        receivers,
        erased: manifest.pending_erased.iter().copied().collect(),
    }
}

/// The latest snapshot, shared by the compactor (which publishes) and
/// queries (which read).
#[derive(Debug)]
pub struct ColumnarStore {
    dir: PathBuf,
    current: RwLock<Arc<Snapshot>>,
}

impl ColumnarStore {
    pub fn new(dir: PathBuf, snapshot: Snapshot) -> Self {
        ColumnarStore {
            dir,
            current: RwLock::new(Arc::new(snapshot)),
        }
    }

    /// Opens the store for reading only (e.g. beside a running server).
    pub fn open_read_only(dir: &Path) -> Result<Self, AnalyticsError> {
        let manifest = Manifest::read(dir)?.unwrap_or_default();
        let files = manifest
            .files
            .iter()
            .map(|f| Arc::new(DataFile::new(dir.join(&f.name), f.stats)))
            .collect();
        Ok(ColumnarStore::new(
            dir.to_owned(),
            Snapshot::new(files, manifest),
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn publish(&self, snapshot: Snapshot) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
    }
}
