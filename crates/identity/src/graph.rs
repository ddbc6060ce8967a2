//! The identity graph: identifiers joined into profiles.

use std::collections::HashMap as StdHashMap;

use compact_str::CompactString;

/// Maps keyed by what events carry: foldhash, seeded per map, instead of
/// SipHash, which was a tenth of identity resolution.
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::extract::Extracted;
use crate::identifier::{IdKind, Identifier};
use crate::rules::IdentityRules;

/// A profile's id: stable for the life of the profile, kept by the
/// surviving profile of a merge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProfileId(pub CompactString);

impl ProfileId {
    pub fn new(id: &str) -> Self {
        Self(CompactString::new(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0.into_string()
    }
}

/// Lets maps keyed by profile id be asked with a `&str`.
impl std::borrow::Borrow<str> for ProfileId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Profile {
    /// Creation order; the oldest profile survives a merge.
    pub(crate) created: u64,
    pub(crate) identifiers: Vec<Identifier>,
    /// Matched since the pager last looked (its second chance before
    /// eviction). A `Cell` so the read-only fast path can set it.
    pub(crate) used: std::cell::Cell<bool>,
}

impl Profile {
    pub(crate) fn new(created: u64, identifiers: Vec<Identifier>) -> Self {
        Self {
            created,
            identifiers,
            used: std::cell::Cell::new(false),
        }
    }
}

/// One profile folded into another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merge {
    pub from: ProfileId,
    pub into: ProfileId,
    /// The identifiers that moved with it.
    pub identifiers: Vec<Identifier>,
}

/// What resolving one event's identifiers did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// The profile the event belongs to; `None` when it carries no usable
    /// identifier (all blocked).
    pub profile: Option<ProfileId>,
    pub created: bool,
    /// The new profile's creation number when one was created: the oldest
    /// profile survives a merge, and a rebuild must know which that is.
    pub sequence: Option<u64>,
    pub merged: Vec<Merge>,
    /// Identifiers new to the graph, now on the profile.
    pub added: Vec<Identifier>,
    /// Identifiers left out of the match because joining them would have
    /// broken a limit (e.g. an email already on another user's profile).
    pub dropped: Vec<Identifier>,
    /// Identifiers whose values identify nobody.
    pub blocked: Vec<Identifier>,
}

/// Profiles and the identifiers that belong to them. Deterministic: the
/// same events in the same order give the same profiles and ids.
#[derive(Debug, Clone)]
pub struct IdentityGraph {
    pub(crate) rules: IdentityRules,
    pub(crate) owner: HashMap<Identifier, ProfileId>,
    pub(crate) profiles: HashMap<ProfileId, Profile>,
    pub(crate) next_profile: u64,
    /// Merged profile → the profile it was merged into.
    pub(crate) forwarded: HashMap<ProfileId, ProfileId>,
    /// Surviving profile → every profile merged into it, transitively.
    pub(crate) absorbed: HashMap<ProfileId, Vec<ProfileId>>,
}

impl IdentityGraph {
    pub fn new(rules: IdentityRules) -> Self {
        Self {
            rules,
            owner: HashMap::default(),
            profiles: HashMap::default(),
            next_profile: 0,
            forwarded: HashMap::default(),
            absorbed: HashMap::default(),
        }
    }

    /// Resolves the identifiers one event carries. Identifiers are taken
    /// in priority order and each joins the match unless that would break a
    /// limit, so higher-priority identifiers win a conflict: an email on
    /// another user's profile does not pull this user into it.
    pub fn resolve(&mut self, identifiers: &[Identifier]) -> Resolution {
        let mut resolution = Resolution::default();
        let mut candidates: Vec<Identifier> = Vec::new();
        for identifier in identifiers {
            if self.rules.is_blocked(identifier) {
                if !resolution.blocked.contains(identifier) {
                    resolution.blocked.push(identifier.clone());
                }
            } else if !candidates.contains(identifier) {
                candidates.push(identifier.clone());
            }
        }
        if let Some(profile) = self.sole_owner(&candidates) {
            resolution.profile = Some(profile.clone());
            return resolution;
        }
        candidates.sort_by(|a, b| self.rules.by_priority(a, b));
        let mut matched: Vec<Identifier> = Vec::new();
        for identifier in candidates {
            matched.push(identifier);
            if !self.fits(&matched) {
                resolution.dropped.extend(matched.pop());
            }
        }
        if matched.is_empty() {
            return resolution;
        }
        let mut profiles = self.profiles_of(&matched);
        let survivor = match profiles.first().cloned() {
            Some(survivor) => survivor,
            None => {
                resolution.created = true;
                resolution.sequence = Some(self.next_profile);
                self.create_profile(&matched[0])
            }
        };
        for other in profiles.drain(..).skip(1) {
            resolution.merged.push(self.merge(&other, &survivor));
        }
        for identifier in matched {
            if !self.owner.contains_key(&identifier) {
                self.owner.insert(identifier.clone(), survivor.clone());
                if let Some(profile) = self.profiles.get_mut(&survivor) {
                    profile.identifiers.push(identifier.clone());
                }
                resolution.added.push(identifier);
            }
        }
        resolution.profile = Some(survivor);
        resolution
    }

    /// Resolves a whole Segment message: its identifiers, and for an alias
    /// its `previousId` — a user id the graph knows, else an anonymous id.
    pub fn resolve_event(
        &mut self,
        event: &serde_json::Value,
        custom_trait_kinds: &[String],
    ) -> Resolution {
        self.resolve_extracted(crate::extract::identifiers_of(event, custom_trait_kinds))
    }

    /// [`IdentityGraph::resolve_event`] once the identifiers are read.
    pub(crate) fn resolve_extracted(&mut self, mut extracted: Extracted) -> Resolution {
        if let Some(previous) = extracted.previous_id.take() {
            let as_user = Identifier::new(IdKind::USER_ID, &previous);
            let identifier = if self.owner.contains_key(&as_user) {
                as_user
            } else {
                Identifier::new(IdKind::ANONYMOUS_ID, &previous)
            };
            extracted.identifiers.push(identifier);
        }
        self.resolve(&extracted.identifiers)
    }

    /// The profile holding an identifier.
    pub fn profile_of(&self, identifier: &Identifier) -> Option<&ProfileId> {
        self.owner.get(identifier)
    }

    /// Whether looking `identifier` up (its owner, and every profile
    /// merged into that) reaches what is stamped with `profile`.
    pub fn leads_to(&self, identifier: &Identifier, profile: &str) -> bool {
        self.owner
            .get(identifier)
            .is_some_and(|owner| owner.0 == self.forwarded_to(profile))
    }

    /// A profile's identifiers, highest priority first.
    pub fn identifiers(&self, profile: &ProfileId) -> Option<Vec<Identifier>> {
        let mut identifiers = self.profiles.get(profile)?.identifiers.clone();
        identifiers.sort_by(|a, b| self.rules.by_priority(a, b).then_with(|| a.cmp(b)));
        Some(identifiers)
    }

    /// The live profile an id stands for: itself, or the profile it was
    /// (perhaps transitively) merged into. `None` for unknown ids.
    pub fn canonical(&self, id: &ProfileId) -> Option<ProfileId> {
        let live = self.forwarded_to(&id.0);
        self.profiles
            .contains_key(live)
            .then(|| ProfileId(live.into()))
    }

    /// The end of the merges from `id`: itself when it was never merged.
    fn forwarded_to<'a>(&'a self, id: &'a str) -> &'a str {
        let mut current = id;
        while let Some(next) = self.forwarded.get(current) {
            current = &next.0;
        }
        current
    }

    /// The live profile an id stands for, then every profile merged into
    /// it: whose records are that person's. `None` for unknown ids.
    pub fn family(&self, id: &ProfileId) -> Option<Vec<ProfileId>> {
        let live = self.canonical(id)?;
        let absorbed = self.absorbed(&live).to_vec();
        Some(std::iter::once(live).chain(absorbed).collect())
    }

    /// Every profile merged into `survivor`, transitively, sorted.
    pub fn absorbed(&self, survivor: &ProfileId) -> &[ProfileId] {
        self.absorbed.get(survivor).map_or(&[], Vec::as_slice)
    }

    pub fn profile_count(&self) -> usize {
        self.profiles.len()
    }

    /// Forgets a live profile, every profile merged into it, and all their
    /// identifiers (a privacy erasure): the same identifiers seen again make
    /// a new profile. Returns the ids forgotten, `live` first.
    pub fn forget(&mut self, live: &ProfileId) -> Vec<ProfileId> {
        let Some(profile) = self.profiles.remove(live) else {
            return Vec::new();
        };
        for identifier in &profile.identifiers {
            self.owner.remove(identifier);
        }
        let mut gone = vec![live.clone()];
        gone.extend(self.absorbed.remove(live).unwrap_or_default());
        for id in &gone {
            self.forwarded.remove(id);
        }
        gone
    }

    /// The creation number the next new profile gets.
    pub fn next_sequence(&self) -> u64 {
        self.next_profile
    }

    /// Never hands out a creation number below `floor` again, so the id of
    /// an erased profile is not given to someone else after a restart.
    pub fn reserve_sequences_below(&mut self, floor: u64) {
        self.next_profile = self.next_profile.max(floor);
    }

    /// Existing profiles the identifiers belong to, oldest first.
    fn profiles_of(&self, identifiers: &[Identifier]) -> Vec<ProfileId> {
        let mut found: Vec<&ProfileId> = identifiers
            .iter()
            .filter_map(|i| self.owner.get(i))
            .collect();
        found.sort_by_key(|p| {
            self.profiles
                .get(*p)
                .map_or(u64::MAX, |profile| profile.created)
        });
        found.dedup();
        found.into_iter().cloned().collect()
    }

    /// The profile that already holds every one of `candidates`, when it
    /// is within every limit: the match then joins nothing new, drops
    /// nothing and merges nothing, which is most events once a person is
    /// known — so the general path's check per identifier is one check.
    fn sole_owner(&self, candidates: &[Identifier]) -> Option<&ProfileId> {
        let (first, rest) = candidates.split_first()?;
        let owner = self.owner.get(first)?;
        if !rest.iter().all(|i| self.owner.get(i) == Some(owner)) {
            return None;
        }
        // The profile already holds them all: together they fit exactly
        // when the profile does, so count its own identifiers only.
        self.within_limits(owner).then_some(owner)
    }

    /// Whether a profile's own identifiers are within every per-kind limit
    /// (they are distinct: each has one owner).
    fn within_limits(&self, profile: &ProfileId) -> bool {
        let Some(profile) = self.profiles.get(profile) else {
            return true;
        };
        profile.used.set(true);
        let mut counts: Vec<(&IdKind, usize)> = Vec::new();
        for identifier in &profile.identifiers {
            match counts
                .iter_mut()
                .find(|(kind, _)| *kind == &identifier.kind)
            {
                Some((_, count)) => *count += 1,
                None => counts.push((&identifier.kind, 1)),
            }
        }
        counts
            .iter()
            .all(|(kind, count)| *count <= self.rules.limit(kind))
    }

    /// Whether joining `matched` (and the profiles they reach) stays within
    /// every per-kind limit.
    fn fits(&self, matched: &[Identifier]) -> bool {
        let mut counts: HashMap<&IdKind, Vec<&str>> = HashMap::default();
        let profiles = self.profiles_of(matched);
        let held = profiles
            .iter()
            .filter_map(|p| self.profiles.get(p))
            .flat_map(|p| p.identifiers.iter());
        for identifier in held.chain(matched) {
            let values = counts.entry(&identifier.kind).or_default();
            if !values.contains(&identifier.value.as_str()) {
                values.push(&identifier.value);
            }
        }
        counts
            .iter()
            .all(|(kind, values)| values.len() <= self.rules.limit(kind))
    }

    fn create_profile(&mut self, first: &Identifier) -> ProfileId {
        let sequence = self.next_profile;
        self.next_profile += 1;
        let seed = format!("{sequence}\0{first}");
        let id =
            ProfileId(format!("prof_{:016x}", xxhash_rust::xxh3::xxh3_64(seed.as_bytes())).into());
        self.profiles
            .insert(id.clone(), Profile::new(sequence, Vec::new()));
        id
    }

    fn merge(&mut self, from: &ProfileId, into: &ProfileId) -> Merge {
        let moved = self
            .profiles
            .remove(from)
            .map(|p| p.identifiers)
            .unwrap_or_default();
        for identifier in &moved {
            self.owner.insert(identifier.clone(), into.clone());
        }
        if let Some(survivor) = self.profiles.get_mut(into) {
            survivor.identifiers.extend(moved.iter().cloned());
        }
        self.forwarded.insert(from.clone(), into.clone());
        let mut taken = self.absorbed.remove(from).unwrap_or_default();
        taken.push(from.clone());
        let absorbed = self.absorbed.entry(into.clone()).or_default();
        absorbed.extend(taken);
        // Sorted, as read back from the store.
        absorbed.sort();
        Merge {
            from: from.clone(),
            into: into.clone(),
            identifiers: moved,
        }
    }
}
