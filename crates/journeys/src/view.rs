//! What the state machine may read about a customer. The engine answers
//! from the live profile; simulation answers from a JSON file.

use serde_json::{Map, Value};

pub trait ProfileView {
    fn profile_id(&self) -> &str;
    /// A profile trait or a computed trait, by name.
    fn trait_value(&self, name: &str) -> Option<Value>;
    fn in_segment(&self, name: &str) -> bool;
    /// Whether the customer may be contacted on this channel (`email`,
    /// `sms`, `push`); unknown means yes, as an explicit opt-out is what
    /// subscription state records.
    fn subscribed(&self, channel: &str) -> bool;
    /// Every trait, for templates (`{{ profile.first_name }}`).
    fn traits(&self) -> Map<String, Value>;
}

/// A profile given whole: simulation input and tests.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticProfile {
    pub id: String,
    #[serde(default)]
    pub traits: Map<String, Value>,
    /// Computed trait values by name.
    #[serde(default)]
    pub computed: Map<String, Value>,
    #[serde(default)]
    pub segments: Vec<String>,
    /// Channels the customer unsubscribed from.
    #[serde(default)]
    pub unsubscribed: Vec<String>,
}

impl ProfileView for StaticProfile {
    fn profile_id(&self) -> &str {
        &self.id
    }

    fn trait_value(&self, name: &str) -> Option<Value> {
        self.traits
            .get(name)
            .or_else(|| self.computed.get(name))
            .cloned()
    }

    fn in_segment(&self, name: &str) -> bool {
        self.segments.iter().any(|s| s == name)
    }

    fn subscribed(&self, channel: &str) -> bool {
        !self.unsubscribed.iter().any(|c| c == channel)
    }

    fn traits(&self) -> Map<String, Value> {
        self.traits.clone()
    }
}
