//! Erasing a person (a privacy request): their profile, identifiers and
//! every event stamped with the profile or a profile merged into it.
//!
//! Order, so that a crash at any point is finished rather than undone:
//! 1. the erased profile ids go into a ledger (synced) in the data directory;
//! 2. the log erases their records in place (it has its own ledger);
//! 3. the index and the identity graph forget them.
//!
//! On open, records stamped with a profile in the ledger are erased again,
//! and the ledger's sequence floor keeps erased ids from being handed out
//! anew. Ingest holds the erase gate shared, an erasure holds it alone, so
//! no event resolved to the person is half-way into the log meanwhile.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::RwLock;

use percorso_identity::ProfileId;
use percorso_log::RecordLocation;
use serde::{Deserialize, Serialize};

use crate::collector::Collector;
use crate::error::CollectError;
use crate::filing;
use crate::index::IndexKey;
use crate::stored::StoredEvent;

/// What an erasure removed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErasureReport {
    pub profile_id: String,
    /// The profile and every profile merged into it.
    pub profiles: Vec<String>,
    pub identifiers: usize,
    pub events: usize,
    /// Refused events in the quarantine that named the person.
    pub quarantined: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct LedgerLine {
    profiles: Vec<String>,
    /// Profiles created from here on get a higher creation number.
    next_sequence: u64,
    at: i64,
}

/// Profile ids erased so far, as the ledger records them.
#[derive(Debug)]
pub(crate) struct ErasedProfiles {
    path: PathBuf,
    ids: RwLock<HashSet<String>>,
    pub(crate) sequence_floor: u64,
}

impl ErasedProfiles {
    /// Reads the ledger; a torn last line (a crash while it was written,
    /// before any record was touched) is ignored.
    pub(crate) fn load(path: PathBuf) -> Result<Self, CollectError> {
        let mut ids = HashSet::new();
        let mut sequence_floor = 0;
        match std::fs::File::open(&path) {
            Ok(file) => {
                for line in std::io::BufReader::new(file).lines() {
                    let line = line.map_err(CollectError::io(&path))?;
                    let Ok(entry) = serde_json::from_str::<LedgerLine>(&line) else {
                        break;
                    };
                    sequence_floor = sequence_floor.max(entry.next_sequence);
                    ids.extend(entry.profiles);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(CollectError::io(&path)(e)),
        }
        Ok(Self {
            path,
            ids: RwLock::new(ids),
            sequence_floor,
        })
    }

    pub(crate) fn contains(&self, profile: &str) -> bool {
        let ids = self.ids.read().unwrap_or_else(|e| e.into_inner());
        !ids.is_empty() && ids.contains(profile)
    }

    fn record(&self, line: &LedgerLine) -> Result<(), CollectError> {
        let mut text = serde_json::to_string(line)
            .map_err(|e| CollectError::Config(format!("erasure ledger: {e}")))?;
        text.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(CollectError::io(&self.path))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(CollectError::io(&self.path))?;
        self.ids
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .extend(line.profiles.iter().cloned());
        Ok(())
    }
}

impl Collector {
    /// Erases the person holding `profile` (any id it has had). `None` when
    /// no such live profile exists.
    pub async fn erase_profile(
        &self,
        profile: &str,
    ) -> Result<Option<ErasureReport>, CollectError> {
        let _alone = self.erase_gate.write().await;
        let (live, profiles, identifiers, next_sequence) = {
            let mut graph = self.identity.graph();
            let Some(family) = graph.family(&ProfileId::new(profile))? else {
                return Ok(None);
            };
            let live = family[0].clone();
            let profiles: Vec<String> = family.into_iter().map(ProfileId::into_string).collect();
            let identifiers = graph.identifiers(&live)?.unwrap_or_default();
            (live, profiles, identifiers, graph.next_sequence())
        };
        // First, while the identifiers are still known: a crash after this
        // leaves the request unanswered, and a retry does it all again.
        let quarantined = self.erase_quarantined(&identifiers)?;
        self.erased.record(&LedgerLine {
            profiles: profiles.clone(),
            next_sequence,
            at: self.clock().now_millis(),
        })?;
        let records = self.records_of(&profiles)?;
        // The index first, while the records still say which ids they
        // carry: once erased in the log, a retry (or the next start) could
        // no longer find their entries.
        self.index.remove(&filing::filed_under(&records))?;
        let locations: Vec<RecordLocation> = records.iter().map(|(l, _)| *l).collect();
        self.log.erase(&locations)?;
        self.identity.forget(&live)?;
        metrics::counter!("percorso_profiles_erased_total").increment(1);
        tracing::info!(profile = %live.0, events = records.len(), "erased a profile");
        Ok(Some(ErasureReport {
            profile_id: live.into_string(),
            profiles,
            identifiers: identifiers.len(),
            events: records.len(),
            quarantined,
        }))
    }

    /// Every stored record stamped with one of `profiles`, with the ids it
    /// is indexed under.
    fn records_of(
        &self,
        profiles: &[String],
    ) -> Result<Vec<(RecordLocation, [String; 3])>, CollectError> {
        let mut found = Vec::new();
        let keys: Vec<IndexKey> = profiles.iter().map(|p| IndexKey::profile(p)).collect();
        for candidate in self.index.candidates(&keys)? {
            let bytes = self.log.read_at(candidate.location)?;
            if bytes.is_empty() {
                continue; // already erased
            }
            let stored = StoredEvent::decode(&bytes).map_err(|reason| CollectError::Decode {
                location: format!("{:?}", candidate.location),
                reason,
            })?;
            // A hash collision may have added a stranger's record.
            if profiles.iter().any(|p| p == stored.profile_id) {
                let ids =
                    [stored.user_id, stored.anonymous_id, stored.profile_id].map(str::to_owned);
                found.push((candidate.location, ids));
            }
        }
        Ok(found)
    }

    /// Forgets in the stored identity graph any erased person a crash left
    /// there (the erasure forgets them last).
    pub(crate) fn forget_erased_identities(&self) -> Result<(), CollectError> {
        for id in self.erased_profiles() {
            if self.identity.forget(&ProfileId::new(&id))? {
                tracing::warn!(profile = %id, "forgot an erased profile a crash left in the identity graph");
            }
        }
        Ok(())
    }

    /// Every profile id erased so far.
    pub fn erased_profiles(&self) -> Vec<String> {
        let ids = self.erased.ids.read().unwrap_or_else(|e| e.into_inner());
        ids.iter().cloned().collect()
    }

    /// Whether derived events for `profile` must be refused: it was erased.
    pub fn is_erased(&self, profile: &str) -> bool {
        self.erased.contains(profile)
    }
}
