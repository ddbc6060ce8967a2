//! Reading the book: a profile as the API shows it, its merges and
//! memberships, and every state in turn.

use crate::book::{MergeRecord, ProfileBook, ProfileView};
use crate::definitions::Definitions;
use crate::profile::ProfileState;
use crate::segments::SegmentMembers;

/// Profiles are visited this many at a time.
pub(crate) const SWEEP: usize = 10_000;

impl ProfileBook {
    /// A profile as of `now`, by any id it has had.
    pub fn view(&mut self, id: &str, now: i64) -> Option<ProfileView> {
        let profile_id = self.canonical(id);
        let state = self.profiles.get(&profile_id, &self.definitions)?;
        Some(view_of(&self.definitions, &profile_id, state, now))
    }

    /// Every profile as of `now`, in id order: the SQL `profiles` table.
    pub fn all_views(&mut self, now: i64) -> Vec<ProfileView> {
        let definitions = self.definitions.clone();
        let mut views = Vec::new();
        self.for_each_state(|id, state| views.push(view_of(&definitions, id, state, now)));
        views
    }

    /// The merge audit trail of a profile, oldest first.
    pub fn merges(&self, id: &str) -> Vec<MergeRecord> {
        self.merge_trail(&self.canonical(id))
    }

    /// Recorded membership of a profile: `(segment, member, since)`.
    pub fn memberships(&mut self, id: &str) -> Vec<(String, bool, i64)> {
        let live = self.canonical(id);
        let definitions = &self.definitions;
        self.profiles
            .get(&live, definitions)
            .map(|state| {
                let mut recorded: Vec<(String, bool, i64)> = state
                    .membership
                    .iter()
                    .filter(|(_, m)| m.transitions > 0)
                    .filter_map(|(i, m)| {
                        let name = definitions.segments.get(i)?.name.clone();
                        Some((name, m.member, m.since))
                    })
                    .collect();
                recorded.sort();
                recorded
            })
            .unwrap_or_default()
    }

    pub fn members(&self) -> &SegmentMembers {
        &self.members
    }

    pub fn profile_count(&self) -> u64 {
        self.profiles.count()
    }

    /// The live profile an id stands for, if it has any state.
    pub fn live_profile(&mut self, id: &str) -> Option<String> {
        let live = self.canonical(id);
        self.profiles
            .contains(&live, &self.definitions)
            .then(|| live.into_owned())
    }

    /// Calls `visit` with every profile's state, in id order.
    pub fn for_each_state(&mut self, mut visit: impl FnMut(&str, &ProfileState)) {
        self.checkpoint_and_wait(); // the store then lists every profile
        let mut after: Option<String> = None;
        loop {
            let ids = self.profiles.ids_after(after.as_deref(), SWEEP);
            for id in &ids {
                if let Some(state) = self.profiles.get(id, &self.definitions) {
                    visit(id, state);
                }
            }
            let evicted = self.profiles.evict();
            self.discard(vec![Box::new(evicted)]);
            match ids.last() {
                Some(last) if ids.len() == SWEEP => after = Some(last.clone()),
                _ => return,
            }
        }
    }
}

fn view_of(
    definitions: &Definitions,
    profile_id: &str,
    state: &ProfileState,
    now: i64,
) -> ProfileView {
    let computed_traits = definitions
        .computed
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.clone(), state.computed_value_at(definitions, i, now)))
        .collect();
    let mut segments: Vec<String> = state
        .membership
        .iter()
        .filter(|(_, m)| m.member)
        .filter_map(|(i, _)| Some(definitions.segments.get(i)?.name.clone()))
        .collect();
    segments.sort();
    ProfileView {
        profile_id: profile_id.to_owned(),
        traits: state.traits.values(),
        trait_sources: state
            .traits
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        computed_traits,
        subscriptions: state
            .subscriptions
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        segments,
        first_seen: state.first_seen,
        last_seen: state.last_seen,
        events: state.events,
    }
}
