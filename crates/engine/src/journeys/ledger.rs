//! Which journeys run, in log order. Every deployment and status change is
//! kept in `journeys.json` with the log's end offsets when it was made
//! (its *cut*): a record at or after the cut in its partition sees the
//! change, an earlier one does not. Replaying the log therefore runs each
//! record against the journeys that ran when it first arrived — a journey
//! deployed today does not act on last month's events on the next
//! rebuild, and one archived does not stop acting on what came before.

use std::path::PathBuf;
use std::sync::Arc;

use percorso_journeys::{parse_journey, Catalog, Journey, Status};
use serde::{Deserialize, Serialize};

use crate::runner::EngineError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub name: String,
    pub change: LedgerChange,
    /// Per partition, the first offset that sees the change.
    pub cut: Vec<u64>,
    /// Wall-clock time of the change (for people reading the history).
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LedgerChange {
    /// A new version from its YAML source, with the status it starts in.
    Deploy {
        version: u32,
        source: String,
        status: Status,
    },
    Status {
        status: Status,
    },
}

/// `journeys.json`.
#[derive(Debug, Clone)]
pub struct JourneyStore {
    path: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct LedgerFile {
    entries: Vec<LedgerEntry>,
}

impl JourneyStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `journeys.json` beside the definitions' file.
    pub fn for_definitions(definitions: &crate::definitions::DefinitionStore) -> Self {
        Self::new(definitions.path().with_file_name("journeys.json"))
    }

    pub fn load(&self) -> Result<Vec<LedgerEntry>, EngineError> {
        let bad =
            |reason: String| EngineError::Storage(format!("{}: {reason}", self.path.display()));
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(serde_json::from_slice::<LedgerFile>(&bytes)
                .map_err(|e| bad(e.to_string()))?
                .entries),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    pub fn save(&self, entries: &[LedgerEntry]) -> Result<(), EngineError> {
        let file = LedgerFile {
            entries: entries.to_vec(),
        };
        let body = serde_json::to_vec_pretty(&file).map_err(EngineError::storage)?;
        percorso_collect::atomic_write(&self.path, &body).map_err(EngineError::storage)
    }
}

/// The ledger applied: one catalog per partition, each advanced as far as
/// the records of its partition have come, and the whole ledger's for the
/// API.
#[derive(Debug, Default)]
pub struct Catalogs {
    entries: Vec<LedgerEntry>,
    /// Each deployment's journey, parsed once.
    parsed: Vec<Option<Arc<Journey>>>,
    /// Per partition: the next entry not yet applied, and the catalog.
    partitions: Vec<(usize, Catalog)>,
    latest: Catalog,
}

impl Catalogs {
    pub fn new(entries: Vec<LedgerEntry>) -> Self {
        let mut catalogs = Self::default();
        for entry in entries {
            catalogs.push(entry);
        }
        catalogs
    }

    /// Adds an entry at the end of the ledger.
    pub fn push(&mut self, entry: LedgerEntry) {
        let parsed = match &entry.change {
            LedgerChange::Deploy { source, .. } => match parse_journey(source) {
                Ok(journey) => Some(Arc::new(journey)),
                Err(problems) => {
                    // Checked when deployed; only a hand-edited file gets here.
                    tracing::error!(journey = entry.name, %problems, "stored journey no longer parses");
                    None
                }
            },
            LedgerChange::Status { .. } => None,
        };
        apply(&mut self.latest, &entry, parsed.as_ref());
        self.entries.push(entry);
        self.parsed.push(parsed);
    }

    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// Every change applied: what runs from now on.
    pub fn latest(&self) -> &Catalog {
        &self.latest
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every event path any deployed version reads.
    pub fn event_paths(&self) -> Vec<String> {
        let mut paths = std::collections::BTreeSet::new();
        for journey in self.parsed.iter().flatten() {
            paths.extend(journey.event_paths());
        }
        paths.into_iter().collect()
    }

    /// The journeys a record at `offset` in `partition` runs against.
    pub fn at(&mut self, partition: usize, offset: u64) -> &Catalog {
        if self.partitions.len() <= partition {
            self.partitions.resize_with(partition + 1, Default::default);
        }
        let (next, catalog) = &mut self.partitions[partition];
        while let Some(entry) = self.entries.get(*next) {
            if entry.cut.get(partition).is_some_and(|&cut| offset < cut) {
                break;
            }
            apply(catalog, entry, self.parsed[*next].as_ref());
            *next += 1;
        }
        &self.partitions[partition].1
    }
}

fn apply(catalog: &mut Catalog, entry: &LedgerEntry, parsed: Option<&Arc<Journey>>) {
    match (&entry.change, parsed) {
        (
            LedgerChange::Deploy {
                version, status, ..
            },
            Some(journey),
        ) => {
            catalog.install(*version, journey.clone(), *status);
        }
        (LedgerChange::Status { status }, _) => {
            // Checked when made; a change that no longer applies is skipped.
            let _ = catalog.set_status(&entry.name, *status);
        }
        (LedgerChange::Deploy { .. }, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOURNEY: &str = "name: j\ntrigger: { event: A }\nsteps:\n  end:\n    exit: true\n";

    fn deploy(version: u32, cut: Vec<u64>) -> LedgerEntry {
        LedgerEntry {
            name: "j".into(),
            change: LedgerChange::Deploy {
                version,
                source: JOURNEY.into(),
                status: Status::Published,
            },
            cut,
            at: 0,
        }
    }

    #[test]
    fn a_record_sees_the_changes_cut_before_it_in_its_partition() {
        let pause = LedgerEntry {
            name: "j".into(),
            change: LedgerChange::Status {
                status: Status::Paused,
            },
            cut: vec![10, 20],
            at: 0,
        };
        let mut catalogs = Catalogs::new(vec![deploy(1, vec![5, 0]), pause]);
        assert!(catalogs.at(0, 4).get("j").is_none());
        assert_eq!(
            catalogs.at(0, 5).get("j").unwrap().status,
            Status::Published
        );
        assert_eq!(catalogs.at(0, 10).get("j").unwrap().status, Status::Paused);
        assert_eq!(
            catalogs.at(1, 0).get("j").unwrap().status,
            Status::Published
        );
        assert_eq!(
            catalogs.at(1, 19).get("j").unwrap().status,
            Status::Published
        );
        assert_eq!(catalogs.at(1, 25).get("j").unwrap().status, Status::Paused);
        assert_eq!(catalogs.latest().get("j").unwrap().status, Status::Paused);
    }
}
