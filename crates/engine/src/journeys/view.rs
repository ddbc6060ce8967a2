//! A profile as the journey machine reads it: traits, computed traits at
//! the input's time, recorded segment membership, consent.

use percorso_journeys::ProfileView;
use serde_json::{Map, Value};

use crate::definitions::Definitions;
use crate::profile::ProfileState;

pub struct EngineProfile<'a> {
    pub id: &'a str,
    pub state: &'a ProfileState,
    pub definitions: &'a Definitions,
    /// The input's time: windowed computed traits are read at it.
    pub now: i64,
}

impl ProfileView for EngineProfile<'_> {
    fn profile_id(&self) -> &str {
        self.id
    }

    fn trait_value(&self, name: &str) -> Option<Value> {
        if let Some((position, _)) = self.definitions.computed_at(name) {
            return Some(
                self.state
                    .computed_value_at(self.definitions, position, self.now),
            );
        }
        self.state.traits.get(name).map(|t| t.value.clone())
    }

    fn in_segment(&self, name: &str) -> bool {
        self.definitions
            .segment_at(name)
            .is_some_and(|(position, _)| self.state.membership_at(position).member)
    }

    fn subscribed(&self, channel: &str) -> bool {
        self.state.subscriptions.allows(channel) != Some(false)
    }

    fn traits(&self) -> Map<String, Value> {
        self.state.traits.values()
    }
}
