//! Identity resolution on the way into the log: each event is resolved to
//! its profile before it is appended, routed to that profile's partition,
//! and stamped with what the resolution decided (see
//! `percorso_identity::IdentityStamp`), so the log alone rebuilds the graph.

use std::sync::{Mutex, MutexGuard};

use percorso_identity::{IdentityGraph, IdentityRules, IdentityStamp, ProfileId};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The profile an event was resolved to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Empty when the event carries no usable identifier.
    pub profile: String,
    /// The encoded [`IdentityStamp`]; empty when nothing new was decided.
    pub stamp: Vec<u8>,
}

/// The identity graph shared by every ingest path.
#[derive(Debug)]
pub struct IdentityStage {
    graph: Mutex<IdentityGraph>,
    custom_kinds: Vec<String>,
}

/// Just the members identity reads; everything else in the message is
/// skipped without being built.
#[derive(Deserialize)]
struct IdentityView {
    #[serde(rename = "type")]
    kind: Option<Value>,
    #[serde(rename = "userId")]
    user_id: Option<Value>,
    #[serde(rename = "anonymousId")]
    anonymous_id: Option<Value>,
    #[serde(rename = "previousId")]
    previous_id: Option<Value>,
    traits: Option<Value>,
    context: Option<ContextView>,
}

#[derive(Deserialize)]
struct ContextView {
    traits: Option<Value>,
    #[serde(rename = "externalIds")]
    external_ids: Option<Value>,
}

impl IdentityStage {
    pub fn new(rules: IdentityRules, custom_kinds: Vec<String>) -> Self {
        Self {
            graph: Mutex::new(IdentityGraph::new(rules)),
            custom_kinds,
        }
    }

    /// Resolves one normalised message (JSON text).
    pub fn resolve(&self, json: &[u8]) -> Resolved {
        let message = identity_members(json);
        let resolution = self.graph().resolve_event(&message, &self.custom_kinds);
        match &resolution.profile {
            Some(profile) => Resolved {
                profile: profile.0.clone(),
                stamp: IdentityStamp::of(&resolution).encode(),
            },
            None => Resolved::default(),
        }
    }

    /// Rebuilds the graph from the stamps read back from the log.
    pub fn restore(&self, facts: &[(ProfileId, IdentityStamp)]) {
        self.graph().restore(facts);
    }

    /// Identifier kinds declared in config, read from traits.
    pub fn custom_kinds(&self) -> &[String] {
        &self.custom_kinds
    }

    /// The graph, for lookups. Held briefly: ingest waits on it.
    pub fn graph(&self) -> MutexGuard<'_, IdentityGraph> {
        self.graph.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The identity-bearing members of a message as a small JSON object.
fn identity_members(json: &[u8]) -> Value {
    let Ok(view) = serde_json::from_slice::<IdentityView>(json) else {
        // An unusual shape (say a `context` that is not an object): read
        // it all and let identity find what it can.
        return serde_json::from_slice(json).unwrap_or(Value::Null);
    };
    let mut out = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            out.insert(key.to_owned(), value);
        }
    };
    put("type", view.kind);
    put("userId", view.user_id);
    put("anonymousId", view.anonymous_id);
    put("previousId", view.previous_id);
    put("traits", view.traits);
    if let Some(context) = view.context {
        let mut inner = Map::new();
        if let Some(traits) = context.traits {
            inner.insert("traits".to_owned(), traits);
        }
        if let Some(ids) = context.external_ids {
            inner.insert("externalIds".to_owned(), ids);
        }
        out.insert("context".to_owned(), Value::Object(inner));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids_from_traits_and_context_and_stamps_what_it_decided() {
        let stage = IdentityStage::new(IdentityRules::default(), vec![]);
        let first =
            stage.resolve(br#"{"type":"page","anonymousId":"a1","properties":{"x":[1,2]}}"#);
        assert!(!first.profile.is_empty());
        assert!(!first.stamp.is_empty());
        let again = stage.resolve(br#"{"type":"track","anonymousId":"a1","event":"E"}"#);
        assert_eq!(
            again,
            Resolved {
                profile: first.profile.clone(),
                stamp: vec![]
            }
        );
        let login = stage.resolve(
            br#"{"type":"identify","userId":"u1","anonymousId":"a1","context":{"traits":{"email":"A@x.io"},"ip":"1.2.3.4"}}"#,
        );
        assert_eq!(login.profile, first.profile);
        let stamp = IdentityStamp::decode(&login.stamp).unwrap();
        let added: Vec<String> = stamp.added.iter().map(ToString::to_string).collect();
        assert_eq!(added, ["user_id:u1", "email:a@x.io"]);
        assert_eq!(
            stage.resolve(br#"{"type":"track","anonymousId":"null"}"#),
            Resolved::default()
        );
    }
}
