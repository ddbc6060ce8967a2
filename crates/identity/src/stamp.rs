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

impl IdentityGraph {
    /// Rebuilds the graph from every stamp in the log, `(profile the event
    /// was stamped with, stamp)`, in any order.
    pub fn restore(&mut self, facts: &[(ProfileId, IdentityStamp)]) {
        for (profile, stamp) in facts {
            if let Some(sequence) = stamp.created {
                self.profiles.entry(profile.clone()).or_insert(Profile {
                    created: sequence,
                    identifiers: Vec::new(),
                });
                self.next_profile = self.next_profile.max(sequence + 1);
            }
        }
        for (_, stamp) in facts {
            for merge in &stamp.merged {
                self.forwarded
                    .insert(merge.from.clone(), merge.into.clone());
            }
        }
        let merged: Vec<ProfileId> = self.forwarded.keys().cloned().collect();
        for from in &merged {
            self.profiles.remove(from);
        }
        for from in merged {
            if let Some(survivor) = self.canonical(&from) {
                self.absorbed.entry(survivor).or_default().push(from);
            }
        }
        for list in self.absorbed.values_mut() {
            list.sort();
        }
        for (profile, stamp) in facts {
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
        }
    }
}
