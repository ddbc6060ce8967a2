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

/// What a removal takes out of each profile's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlotKind {
    /// A segment's recorded membership.
    Segment,
    /// A computation no definition reads any more (see `computations.rs`).
    #[serde(alias = "ComputedTrait")]
    Computation,
}

/// A deleted position, as of the layout the deletion made. States kept
/// by position in the store are brought up to date when read, not all
/// rewritten at the deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    pub layout: u32,
    pub kind: SlotKind,
    pub position: usize,
}

impl Removal {
    fn apply(self, state: &mut ProfileState) {
        match self.kind {
            SlotKind::Segment => state.membership.remove(self.position),
            SlotKind::Computation => state.computations.remove(self.position),
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

    pub(crate) fn record_removal(&mut self, kind: SlotKind, position: usize) -> Removal {
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
        let removal = self.definitions.record_removal(SlotKind::Segment, position);
        self.update_hot_states(removal);
        self.drop_unused_computations();
        self.members.remove_segment(name);
        self.recent.retain(|(segment, _)| segment != name);
        true
    }

    fn remove_trait(&mut self, name: &str) -> bool {
        let Some((position, _)) = self.definitions.computed_at(name) else {
            return false;
        };
        self.definitions.computed.remove(position);
        self.definitions.computed_slots.remove(position);
        self.definitions.from_config.remove(name);
        self.drop_unused_computations();
        true
    }

    fn drop_unused_computations(&mut self) {
        for removal in self.definitions.drop_unused_computations() {
            self.update_hot_states(removal);
        }
        self.definitions.reindex();
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
