//! Deleting a definition: the segment or computed trait goes, and so does
//! everything derived from it on every profile. Members of a deleted
//! segment leave it silently (no `Segment Exited`): the segment itself no
//! longer exists to be left, and journeys started from it are told by its
//! absence, not by a burst of exits.

use serde::{Deserialize, Serialize};

use crate::book::ProfileBook;
use crate::definitions::Definitions;
use crate::profile::ProfileState;

/// What a deletion refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DefinitionKind {
    Segment,
    ComputedTrait,
}

impl DefinitionKind {
    pub fn noun(self) -> &'static str {
        match self {
            Self::Segment => "segment",
            Self::ComputedTrait => "computed trait",
        }
    }
}

/// A deleted definition's position, as of the layout the deletion made.
/// States kept by position in the store are brought up to date when read,
/// not all rewritten at the deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    pub layout: u32,
    pub kind: DefinitionKind,
    pub position: usize,
}

impl Removal {
    fn apply(self, state: &mut ProfileState) {
        match self.kind {
            DefinitionKind::Segment => {
                state.implied.remove(self.position);
                state.membership.remove(self.position);
            }
            DefinitionKind::ComputedTrait => state.computed.remove(self.position),
        }
    }
}

impl Definitions {
    /// Takes the positions deleted since `state` was written out of it.
    pub fn bring_up_to_date(&self, state: &mut ProfileState) {
        if state.layout == self.layout {
            return;
        }
        let written_under = state.layout;
        for removal in self.removals.iter().filter(|r| r.layout > written_under) {
            removal.apply(state);
        }
        state.layout = self.layout;
    }

    fn record_removal(&mut self, kind: DefinitionKind, position: usize) -> Removal {
        self.layout += 1;
        let removal = Removal {
            layout: self.layout,
            kind,
            position,
        };
        self.removals.push(removal);
        removal
    }
}

impl ProfileBook {
    /// Removes a definition and its state; false if there was none.
    pub fn remove_definition(&mut self, kind: DefinitionKind, name: &str) -> bool {
        let removed = match kind {
            DefinitionKind::Segment => self.remove_segment(name),
            DefinitionKind::ComputedTrait => self.remove_trait(name),
        };
        if removed {
            self.cuts.remove(name);
        }
        removed
    }

    fn remove_segment(&mut self, name: &str) -> bool {
        let Some((position, _)) = self.definitions.segment_at(name) else {
            return false;
        };
        self.definitions.segments.remove(position);
        self.definitions.reindex();
        let removal = self
            .definitions
            .record_removal(DefinitionKind::Segment, position);
        self.update_hot_states(removal);
        self.members.remove_segment(name);
        self.recent.retain(|(segment, _)| segment != name);
        true
    }

    fn remove_trait(&mut self, name: &str) -> bool {
        let Some((position, _)) = self.definitions.computed_at(name) else {
            return false;
        };
        self.definitions.computed.remove(position);
        self.definitions.reindex();
        self.definitions.from_config.remove(name);
        let removal = self
            .definitions
            .record_removal(DefinitionKind::ComputedTrait, position);
        self.update_hot_states(removal);
        true
    }

    fn update_hot_states(&mut self, removal: Removal) {
        for state in self.profiles.hot_states_mut() {
            if state.layout < removal.layout {
                removal.apply(state);
                state.layout = removal.layout;
            }
        }
    }
}
