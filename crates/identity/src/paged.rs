//! The identity graph paged between memory and the state store, so that
//! memory holds the people being seen and not everyone ever seen.
//!
//! Memory holds whole clusters (a live profile, its identifiers, the
//! profiles merged into it): before a match, the clusters of every
//! identifier involved are read in, so the graph's rules run on complete
//! people exactly as with everything in memory. Changed clusters are
//! written out by [`PagedGraph::take_changes`] (the caller commits them
//! with how far the log is covered); clean ones are evicted, oldest first
//! with a second chance for those matched since the last pass.

use std::borrow::Borrow;
use std::collections::{HashSet, VecDeque};

use percorso_store::StoreError;

use crate::extract::{identifiers_of, Extracted};
use crate::graph::{IdentityGraph, Profile, ProfileId, Resolution};
use crate::identifier::{IdKind, Identifier};
use crate::rows::{GraphMeta, GraphRows, StoredCluster};
use crate::rules::IdentityRules;
use crate::stamp::IdentityStamp;

/// The graph, its rows, and what memory holds of it.
#[derive(Debug)]
pub struct PagedGraph {
    pub(crate) graph: IdentityGraph,
    /// `None`: everything stays in memory (a reader with no store).
    rows: Option<GraphRows>,
    /// Live profiles changed since the last write.
    dirty: HashSet<ProfileId, foldhash::fast::RandomState>,
    /// Profiles merged away since the last write: their rows go.
    merged_away: Vec<ProfileId>,
    /// Live profiles in memory, in the order they came in.
    queue: VecDeque<ProfileId>,
    /// Live profiles to keep in memory at most, once written.
    capacity: usize,
    /// Live profiles, in memory or not.
    live: u64,
}

/// Changes taken from the graph to be written.
#[derive(Debug, Default)]
pub struct GraphChanges {
    clusters: Vec<(ProfileId, StoredCluster)>,
    merged_away: Vec<ProfileId>,
    meta: GraphMeta,
}

impl GraphChanges {
    /// Live profiles to write.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty() && self.merged_away.is_empty()
    }
}

impl PagedGraph {
    /// A graph wholly in memory.
    pub fn in_memory(rules: IdentityRules) -> Self {
        Self::with_rows(rules, None, usize::MAX, GraphMeta::default())
    }

    /// A graph over its rows in the store, keeping at most `capacity`
    /// written profiles in memory.
    pub fn stored(
        rules: IdentityRules,
        rows: GraphRows,
        capacity: usize,
    ) -> Result<Self, StoreError> {
        let meta = rows.meta()?;
        Ok(Self::with_rows(rules, Some(rows), capacity, meta))
    }

    fn with_rows(
        rules: IdentityRules,
        rows: Option<GraphRows>,
        capacity: usize,
        meta: GraphMeta,
    ) -> Self {
        let mut graph = IdentityGraph::new(rules);
        graph.next_profile = meta.next_profile;
        Self {
            graph,
            rows,
            dirty: HashSet::default(),
            merged_away: Vec::new(),
            queue: VecDeque::new(),
            capacity,
            live: meta.live,
        }
    }

    /// The rows, when the graph is stored.
    pub fn rows(&self) -> Option<&GraphRows> {
        self.rows.as_ref()
    }

    /// Resolves a whole Segment message (see [`IdentityGraph::resolve`]).
    pub fn resolve_event(
        &mut self,
        event: &serde_json::Value,
        custom_trait_kinds: &[String],
    ) -> Result<Resolution, StoreError> {
        Ok(self.resolve_event_for(event, custom_trait_kinds, [])?.0)
    }

    /// [`Self::resolve_event`], and for each of `asked` whether the graph
    /// then leads it to the resolved profile (see [`Self::leads_to`]),
    /// told by what the resolution decided instead of a lookup each: an
    /// identifier the message carries leads there unless it was dropped
    /// or blocked. `None` for one the message does not carry, an alias's
    /// `previousId` among them (ask [`Self::leads_to`]). Later resolutions
    /// keep a `true` true: merges move owners along with the profiles they
    /// forward to (an erasure would not, and the collector holds off
    /// erasures while a batch is between resolving and indexing).
    pub fn resolve_event_for<const N: usize>(
        &mut self,
        event: &serde_json::Value,
        custom_trait_kinds: &[String],
        asked: [&Identifier; N],
    ) -> Result<(Resolution, [Option<bool>; N]), StoreError> {
        self.resolve_extracted_for(identifiers_of(event, custom_trait_kinds), asked)
    }

    /// [`PagedGraph::resolve_event_for`] once the identifiers are read.
    pub fn resolve_extracted_for<const N: usize>(
        &mut self,
        extracted: Extracted,
        asked: [&Identifier; N],
    ) -> Result<(Resolution, [Option<bool>; N]), StoreError> {
        let carried = asked.map(|a| extracted.identifiers.contains(a));
        for identifier in &extracted.identifiers {
            self.load_identifier(identifier)?;
        }
        if let Some(previous) = &extracted.previous_id {
            self.load_identifier(&Identifier::new(IdKind::USER_ID, previous))?;
            self.load_identifier(&Identifier::new(IdKind::ANONYMOUS_ID, previous))?;
        }
        let resolution = self.graph.resolve_extracted(extracted);
        self.note(&resolution);
        let leads = std::array::from_fn(|i| {
            carried[i].then(|| {
                resolution.profile.is_some()
                    && !resolution.dropped.contains(asked[i])
                    && !resolution.blocked.contains(asked[i])
            })
        });
        Ok((resolution, leads))
    }

    /// Resolves identifiers (see [`IdentityGraph::resolve`]).
    pub fn resolve(&mut self, identifiers: &[Identifier]) -> Result<Resolution, StoreError> {
        for identifier in identifiers {
            self.load_identifier(identifier)?;
        }
        let resolution = self.graph.resolve(identifiers);
        self.note(&resolution);
        Ok(resolution)
    }

    fn note(&mut self, resolution: &Resolution) {
        let Some(profile) = &resolution.profile else {
            return;
        };
        if resolution.created {
            self.live += 1;
            // Only a stored graph evicts; in memory the queue would just grow.
            if self.rows.is_some() {
                self.queue.push_back(profile.clone());
            }
        }
        self.live = self.live.saturating_sub(resolution.merged.len() as u64);
        let changed =
            resolution.created || !resolution.added.is_empty() || !resolution.merged.is_empty();
        if changed && self.rows.is_some() {
            self.dirty.insert(profile.clone());
            self.merged_away
                .extend(resolution.merged.iter().map(|m| m.from.clone()));
        }
    }

    /// Applies stamps read back from the log (see [`IdentityGraph::restore`]).
    pub fn restore(&mut self, facts: &[(ProfileId, IdentityStamp)]) -> Result<(), StoreError> {
        for (profile, stamp) in facts {
            self.load_profile(profile)?;
            for merge in &stamp.merged {
                self.load_profile(&merge.from)?;
                self.load_profile(&merge.into)?;
            }
            for identifier in &stamp.added {
                self.load_identifier(identifier)?;
            }
        }
        let restored = self.graph.apply_stamps(facts);
        self.live += restored.created.len() as u64;
        self.live = self.live.saturating_sub(restored.merged_away.len() as u64);
        if self.rows.is_some() {
            self.queue.extend(restored.created.iter().cloned());
            self.dirty.extend(restored.created);
            self.dirty.extend(restored.touched);
            self.merged_away.extend(restored.merged_away);
        }
        Ok(())
    }

    /// The profile holding an identifier.
    pub fn profile_of(&mut self, identifier: &Identifier) -> Result<Option<ProfileId>, StoreError> {
        self.load_identifier(identifier)?;
        Ok(self.graph.profile_of(identifier).cloned())
    }

    /// See [`IdentityGraph::leads_to`].
    pub fn leads_to(&mut self, identifier: &Identifier, profile: &str) -> Result<bool, StoreError> {
        // The owner's cluster holds every profile merged into it, so that
        // is all the answer needs: a profile outside it cannot lead there.
        self.load_identifier(identifier)?;
        Ok(self.graph.leads_to(identifier, profile))
    }

    /// A profile's identifiers, highest priority first.
    pub fn identifiers(
        &mut self,
        profile: &ProfileId,
    ) -> Result<Option<Vec<Identifier>>, StoreError> {
        self.load_profile(profile)?;
        Ok(self.graph.identifiers(profile))
    }

    /// See [`IdentityGraph::canonical`].
    pub fn canonical(&mut self, id: &ProfileId) -> Result<Option<ProfileId>, StoreError> {
        self.load_profile(id)?;
        Ok(self.graph.canonical(id))
    }

    /// See [`IdentityGraph::family`].
    pub fn family(&mut self, id: &ProfileId) -> Result<Option<Vec<ProfileId>>, StoreError> {
        self.load_profile(id)?;
        Ok(self.graph.family(id))
    }

    /// Every profile merged into `survivor`, transitively, sorted.
    pub fn absorbed(&mut self, survivor: &ProfileId) -> Result<Vec<ProfileId>, StoreError> {
        self.load_profile(survivor)?;
        Ok(self.graph.absorbed(survivor).to_vec())
    }

    /// Live profiles, in memory or not.
    pub fn profile_count(&self) -> u64 {
        self.live
    }

    /// Live profiles held in memory.
    pub fn held_in_memory(&self) -> usize {
        self.graph.profile_count()
    }

    /// Changed profiles not yet written.
    pub fn unwritten(&self) -> usize {
        self.dirty.len()
    }

    /// The creation number the next new profile gets.
    pub fn next_sequence(&self) -> u64 {
        self.graph.next_sequence()
    }

    /// See [`IdentityGraph::reserve_sequences_below`].
    pub fn reserve_sequences_below(&mut self, floor: u64) {
        self.graph.reserve_sequences_below(floor);
    }

    /// Forgets a live profile and everything merged into it (a privacy
    /// erasure), in memory and in the store at once. Returns the ids
    /// forgotten, `live` first; empty when `live` is not a live profile.
    /// No write of taken changes may be in flight (it could put the rows
    /// back): the caller holds whatever serialises its writes.
    pub fn forget(&mut self, live: &ProfileId) -> Result<Vec<ProfileId>, StoreError> {
        self.load_profile(live)?;
        let Some(cluster) = self.graph.cluster(live) else {
            return Ok(Vec::new());
        };
        if let Some(rows) = &self.rows {
            let mut batch = rows.batch();
            let mut retired = vec![cluster.created];
            // Merged in before their rows were deleted, some may still be
            // readable.
            for merged in &cluster.absorbed {
                retired.extend(rows.delete_merged(&mut batch, merged)?);
            }
            rows.delete_cluster(&mut batch, live, &cluster);
            batch.commit()?;
            rows.shred(&retired)?;
        }
        self.dirty.remove(live);
        self.live = self.live.saturating_sub(1);
        Ok(self.graph.forget(live))
    }

    /// Takes the changes since the last write, for [`GraphChanges::commit`].
    /// Until [`PagedGraph::written`] is called, nothing is evicted.
    pub fn take_changes(&mut self) -> GraphChanges {
        let dirty = std::mem::take(&mut self.dirty);
        let clusters = dirty
            .into_iter()
            .filter_map(|id| self.graph.cluster(&id).map(|c| (id, c)))
            .collect();
        GraphChanges {
            clusters,
            merged_away: std::mem::take(&mut self.merged_away),
            meta: GraphMeta {
                next_profile: self.graph.next_sequence(),
                live: self.live,
            },
        }
    }

    /// The changes were written (or not, and are taken back).
    pub fn written(&mut self, changes: GraphChanges, ok: bool) {
        if ok {
            return;
        }
        for (id, _) in changes.clusters {
            if self.graph.profiles.contains_key(&id) {
                self.dirty.insert(id);
            }
        }
        self.merged_away.extend(changes.merged_away);
    }

    /// Evicts up to `at_most` written profiles while memory holds more
    /// than its capacity; returns how many went. Call it in small steps:
    /// ingest waits on the graph meanwhile.
    pub fn evict(&mut self, at_most: usize) -> usize {
        let mut evicted = 0;
        let mut looked = 0;
        while self.graph.profile_count() > self.capacity && evicted < at_most {
            // Each profile gets one second chance per pass.
            if looked > 2 * self.queue.len() + at_most {
                break;
            }
            looked += 1;
            let Some(id) = self.queue.pop_front() else {
                break;
            };
            let Some(profile) = self.graph.profiles.get(&id) else {
                continue; // merged away or forgotten
            };
            if profile.used.replace(false) || self.dirty.contains(&id) {
                self.queue.push_back(id);
                continue;
            }
            self.graph.forget(&id);
            evicted += 1;
        }
        evicted
    }

    /// Reads in the cluster holding `identifier`, if stored and not in memory.
    fn load_identifier(&mut self, identifier: &Identifier) -> Result<(), StoreError> {
        let Some(rows) = &self.rows else {
            return Ok(());
        };
        // A blocked value is never owned: no read for it.
        if self.graph.owner.contains_key(identifier) || self.graph.rules.is_blocked(identifier) {
            return Ok(());
        }
        match rows.owner(identifier)? {
            // Rows name live profiles (a merge rewrites its survivor's).
            Some(owner) if !self.graph.knows_profile(&owner.0) => self.load_live(owner),
            _ => Ok(()),
        }
    }

    /// Reads in the cluster `profile` is (or was merged into), if stored
    /// and not in memory.
    fn load_profile(&mut self, profile: &(impl Borrow<str> + ?Sized)) -> Result<(), StoreError> {
        let Some(rows) = &self.rows else {
            return Ok(());
        };
        let profile: &str = profile.borrow();
        if self.graph.knows_profile(profile) {
            return Ok(());
        }
        match rows.forwarded(profile)? {
            Some(live) if self.graph.knows_profile(&live.0) => Ok(()),
            Some(live) => self.load_live(live),
            None => self.load_live(ProfileId(profile.into())),
        }
    }

    /// Reads in a live profile's cluster that memory does not hold.
    fn load_live(&mut self, live: ProfileId) -> Result<(), StoreError> {
        let Some(rows) = &self.rows else {
            return Ok(());
        };
        if let Some(cluster) = rows.cluster(&live.0)? {
            self.graph.load(live.clone(), cluster);
            self.queue.push_back(live);
        }
        Ok(())
    }
}

impl GraphChanges {
    /// Writes the changes in one batch, with `covered` (per partition of
    /// the log, the offset below which every record's facts are in them);
    /// then shreds the keys of profiles merged away, whose identifiers now
    /// live sealed in their survivor's row.
    pub fn commit(&self, rows: &GraphRows, covered: &[u64]) -> Result<(), StoreError> {
        let mut batch = rows.batch();
        let mut retired = Vec::new();
        for id in &self.merged_away {
            retired.extend(rows.delete_merged(&mut batch, id)?);
        }
        for (id, cluster) in &self.clusters {
            rows.put_cluster(&mut batch, id, cluster)?;
        }
        rows.put_meta(&mut batch, self.meta, covered);
        rows.sync_keys()?;
        batch.commit()?;
        if retired.is_empty() {
            return Ok(());
        }
        // Store batches are not synced: were this one lost in a crash
        // after the shred, the merged profiles' rows would come back
        // unreadable, their identifiers lost to the person.
        rows.persist()?;
        rows.shred(&retired)
    }
}

impl IdentityGraph {
    /// Whether memory holds `profile`, live or merged away.
    pub(crate) fn knows_profile(&self, profile: &str) -> bool {
        self.profiles.contains_key(profile) || self.forwarded.contains_key(profile)
    }

    /// Takes in a stored cluster that memory does not hold.
    pub(crate) fn load(&mut self, live: ProfileId, cluster: StoredCluster) {
        for identifier in &cluster.identifiers {
            self.owner.insert(identifier.clone(), live.clone());
        }
        for merged in &cluster.absorbed {
            self.forwarded.insert(merged.clone(), live.clone());
        }
        if !cluster.absorbed.is_empty() {
            self.absorbed.insert(live.clone(), cluster.absorbed);
        }
        self.profiles
            .insert(live, Profile::new(cluster.created, cluster.identifiers));
    }

    /// A live profile as it would be stored.
    pub(crate) fn cluster(&self, live: &ProfileId) -> Option<StoredCluster> {
        let profile = self.profiles.get(live)?;
        Some(StoredCluster {
            created: profile.created,
            identifiers: profile.identifiers.clone(),
            absorbed: self.absorbed(live).to_vec(),
        })
    }
}
