//! The journeys the machine runs: each with its versions and its status.
//! A published version never changes; publishing again adds a version,
//! and customers stay on the version they entered unless the new one
//! says `migrate_running`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::definition::Journey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Deployed, not running: nobody enters.
    Draft,
    /// Running: customers enter and move.
    Published,
    /// Nobody enters; customers already in stay where they are.
    Paused,
    /// Over: customers still in leave at their next move.
    Archived,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Draft,
        Status::Published,
        Status::Paused,
        Status::Archived,
    ];

    pub fn from_name(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Published => "published",
            Status::Paused => "paused",
            Status::Archived => "archived",
        }
    }
}

#[derive(Debug)]
pub struct CatalogEntry {
    pub status: Status,
    /// The version new entrants get.
    pub live: u32,
    /// A newer version deployed as a draft while this one runs: it
    /// becomes live when published.
    pub draft: Option<u32>,
    pub versions: BTreeMap<u32, Arc<Journey>>,
}

impl CatalogEntry {
    pub fn live_journey(&self) -> &Arc<Journey> {
        &self.versions[&self.live]
    }
}

#[derive(Debug, Default)]
pub struct Catalog {
    entries: BTreeMap<String, CatalogEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("no journey named {0:?}")]
    Unknown(String),
    #[error("journey {name:?} is {from}; it cannot become {to}")]
    Transition {
        name: String,
        from: &'static str,
        to: &'static str,
    },
}

impl Catalog {
    /// Adds `journey` as its name's next version, with `status`; returns
    /// the version number. Archived journeys come back with a new version.
    pub fn deploy(&mut self, journey: Journey, status: Status) -> u32 {
        let version = self.next_version(&journey.name);
        self.install(version, Arc::new(journey), status);
        version
    }

    /// Adds a version with a number already given (replaying a ledger of
    /// deployments); it becomes the live one.
    pub fn install(&mut self, version: u32, journey: Arc<Journey>, status: Status) {
        let entry = self
            .entries
            .entry(journey.name.clone())
            .or_insert_with(|| CatalogEntry {
                status,
                live: version,
                draft: None,
                versions: BTreeMap::new(),
            });
        entry.versions.insert(version, journey);
        let running = matches!(entry.status, Status::Published | Status::Paused);
        if status == Status::Draft && running {
            // Whatever runs goes on running until the draft is published.
            entry.draft = Some(version);
            return;
        }
        entry.live = version;
        entry.status = status;
        entry.draft = None;
    }

    /// The number the next deployment of `name` gets.
    pub fn next_version(&self, name: &str) -> u32 {
        self.entries
            .get(name)
            .and_then(|e| e.versions.keys().next_back())
            .map_or(1, |v| v + 1)
    }

    /// Publishes, pauses, resumes (publishes) or archives a journey.
    pub fn set_status(&mut self, name: &str, to: Status) -> Result<(), CatalogError> {
        self.check_status(name, to)?;
        if let Some(entry) = self.entries.get_mut(name) {
            entry.status = to;
            if to == Status::Published {
                if let Some(draft) = entry.draft.take() {
                    entry.live = draft;
                }
            }
        }
        Ok(())
    }

    /// Whether `name` may become `to` now.
    pub fn check_status(&self, name: &str, to: Status) -> Result<(), CatalogError> {
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| CatalogError::Unknown(name.to_owned()))?;
        let publishes_draft = entry.draft.is_some() && to == Status::Published;
        let allowed = publishes_draft
            || matches!(
                (entry.status, to),
                (Status::Draft, Status::Published)
                    | (Status::Published, Status::Paused)
                    | (Status::Paused, Status::Published)
                    | (_, Status::Archived)
            );
        if !allowed {
            return Err(CatalogError::Transition {
                name: name.to_owned(),
                from: entry.status.name(),
                to: to.name(),
            });
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&CatalogEntry> {
        self.entries.get(name)
    }

    pub fn version(&self, name: &str, version: u32) -> Option<&Arc<Journey>> {
        self.entries.get(name)?.versions.get(&version)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &CatalogEntry)> {
        self.entries.iter()
    }
}
