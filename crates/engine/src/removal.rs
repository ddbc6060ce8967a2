//! Deleting a definition: the segment or computed trait goes, and so does
//! everything derived from it on every profile. Members of a deleted
//! segment leave it silently (no `Segment Exited`): the segment itself no
//! longer exists to be left, and journeys started from it are told by its
//! absence, not by a burst of exits.

use crate::book::ProfileBook;

/// What a deletion refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        for state in self.profiles.values_mut() {
            state.implied.remove(position);
            state.membership.remove(position);
        }
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
        for state in self.profiles.values_mut() {
            state.computed.remove(position);
        }
        true
    }
}
