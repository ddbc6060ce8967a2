//! What resolving an event decided, written into the event's log record so
//! the graph can be rebuilt from the log without resolving again.
//!
//! Each stamp states facts — "profile P was created as number n", "these
//! identifiers joined P", "Q was merged into P" — and facts can be applied
//! in any order: every identifier ends on the live profile its stamped
//! profile was merged into. So a rebuild that reads partitions in any
//! interleaving gives the graph the live process had.

use serde::{Deserialize, Serialize};

use crate::graph::{IdentityGraph, Merge, Profile, ProfileId, Resolution};
use crate::identifier::Identifier;

/// The identity facts one event established.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityStamp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<Merge>,
}

impl IdentityStamp {
    pub fn of(resolution: &Resolution) -> Self {
        Self {
            created: resolution.sequence,
            added: resolution.added.clone(),
            merged: resolution.merged.clone(),
        }
    }

    /// Most events establish nothing new; they store no stamp at all.
    pub fn is_empty(&self) -> bool {
        self.created.is_none() && self.added.is_empty() && self.merged.is_empty()
    }

    /// The stamp as stored: empty when there is nothing to say.
    pub fn encode(&self) -> Vec<u8> {
        if self.is_empty() {
            Vec::new()
        } else {
            serde_json::to_vec(self).unwrap_or_default()
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_slice(bytes).map_err(|e| format!("identity stamp: {e}"))
    }
}

/// What replaying stamps changed, for the pager to write out.
#[derive(Debug, Default)]
pub(crate) struct Restored {
    /// Profiles made live.
    pub created: Vec<ProfileId>,
    /// Live profiles merged into another.
    pub merged_away: Vec<ProfileId>,
    /// Live profiles that gained identifiers or merged profiles.
    pub touched: Vec<ProfileId>,
}

impl IdentityGraph {
    /// Applies stamps read back from the log, `(profile the event was
    /// stamped with, stamp)`, in any order. Facts already applied change
    /// nothing, so stamps can be replayed over a graph that already holds
    /// some of them (one loaded from the state store).
    pub fn restore(&mut self, facts: &[(ProfileId, IdentityStamp)]) {
        self.apply_stamps(facts);
    }

    pub(crate) fn apply_stamps(&mut self, facts: &[(ProfileId, IdentityStamp)]) -> Restored {
        let mut restored = Restored::default();
        for (profile, stamp) in facts {
            let Some(sequence) = stamp.created else {
                continue;
            };
            self.next_profile = self.next_profile.max(sequence + 1);
            if !self.profiles.contains_key(profile) && !self.forwarded.contains_key(profile) {
                self.profiles
                    .insert(profile.clone(), Profile::new(sequence, Vec::new()));
                restored.created.push(profile.clone());
            }
        }
        // Every forward first, so each merged profile folds straight into
        // the end of its chain whatever order the merges come in.
        let mut newly = Vec::new();
        for merge in facts.iter().flat_map(|(_, stamp)| &stamp.merged) {
            if merge.from != merge.into {
                self.forwarded
                    .insert(merge.from.clone(), merge.into.clone());
                newly.push(merge.from.clone());
            }
        }
        for from in newly {
            let Some(survivor) = self.canonical(&from) else {
                continue;
            };
            if let Some(folded) = self.profiles.remove(&from) {
                for identifier in &folded.identifiers {
                    self.owner.insert(identifier.clone(), survivor.clone());
                }
                if let Some(live) = self.profiles.get_mut(&survivor) {
                    live.identifiers.extend(folded.identifiers);
                }
                restored.merged_away.push(from.clone());
            }
            let mut taken = self.absorbed.remove(&from).unwrap_or_default();
            taken.push(from);
            let list = self.absorbed.entry(survivor.clone()).or_default();
            list.extend(taken);
            list.sort();
            list.dedup();
            restored.touched.push(survivor);
        }
        for (profile, stamp) in facts {
            if stamp.added.is_empty() {
                continue;
            }
            let Some(survivor) = self.canonical(profile) else {
                continue;
            };
            for identifier in &stamp.added {
                if self.owner.contains_key(identifier) {
                    continue;
                }
                self.owner.insert(identifier.clone(), survivor.clone());
                if let Some(live) = self.profiles.get_mut(&survivor) {
                    live.identifiers.push(identifier.clone());
                }
            }
            restored.touched.push(survivor);
        }
        restored
    }
}
