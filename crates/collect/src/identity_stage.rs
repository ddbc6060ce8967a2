//! Identity resolution on the way into the log: each event is resolved to
//! its profile before it is appended, routed to that profile's partition,
//! and stamped with what the resolution decided (see
//! `percorso_identity::IdentityStamp`), so the log alone rebuilds the graph.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use percorso_identity::{
    ids_only, GraphRows, Identifier, IdentityRules, IdentityStamp, PagedGraph, ProfileId,
};
use percorso_store::StoreError;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The profile an event was resolved to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Empty when the event carries no usable identifier.
    pub profile: String,
    /// The encoded [`IdentityStamp`]; empty when nothing new was decided.
    pub stamp: Vec<u8>,
    /// For the ids asked about, whether the graph leads each to `profile`
    /// (`None`: the message does not carry it; ask the graph).
    pub leads: [Option<bool>; 2],
}

/// The identity graph shared by every ingest path.
#[derive(Debug)]
pub struct IdentityStage {
    graph: Mutex<PagedGraph>,
    custom_kinds: Vec<String>,
    /// Held by every batch of events from before its resolution until its
    /// append is settled; a write swaps it and waits for the old one, so
    /// that it never stores facts an append might yet lose.
    epoch: Mutex<Arc<()>>,
    /// Serialises writes of the graph, and erasures (which write too).
    writing: Mutex<()>,
    /// Set when a batch resolved here was not appended (its append or a
    /// later resolution failed): the graph then holds facts the log lacks,
    /// so it is not written again until a restart rebuilds it from the log.
    unlogged: AtomicBool,
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
    /// A stage over the graph's rows in the store (keeping at most
    /// `capacity` written profiles in memory), or wholly in memory.
    pub fn new(
        rules: IdentityRules,
        custom_kinds: Vec<String>,
        rows: Option<GraphRows>,
        capacity: usize,
    ) -> Result<Self, StoreError> {
        let graph = match rows {
            Some(rows) => PagedGraph::stored(rules, rows, capacity)?,
            None => PagedGraph::in_memory(rules),
        };
        Ok(Self {
            graph: Mutex::new(graph),
            custom_kinds,
            epoch: Mutex::new(Arc::new(())),
            writing: Mutex::new(()),
            unlogged: AtomicBool::new(false),
        })
    }

    /// Resolves one normalised message (JSON text, with its user and
    /// anonymous ids as normalised), and tells whether the graph leads each
    /// of `asked` to the profile (see [`PagedGraph::resolve_event_for`]).
    /// Hold [`Self::settling`] from before this call until the event's
    /// append is settled.
    pub fn resolve(
        &self,
        json: &[u8],
        [user_id, anonymous_id]: [&str; 2],
        asked: [&Identifier; 2],
    ) -> Result<Resolved, StoreError> {
        let (resolution, leads) = match ids_only(json, user_id, anonymous_id) {
            Some(extracted) => self.graph().resolve_extracted_for(extracted, asked)?,
            None => {
                let message = identity_members(json);
                self.graph()
                    .resolve_event_for(&message, &self.custom_kinds, asked)?
            }
        };
        Ok(match &resolution.profile {
            Some(profile) => Resolved {
                profile: profile.0.to_string(),
                stamp: IdentityStamp::of(&resolution).encode(),
                leads,
            },
            None => Resolved::default(),
        })
    }

    /// A token that holds off writes of what is resolved from now on.
    pub(crate) fn settling(&self) -> Arc<()> {
        lock(&self.epoch).clone()
    }

    /// A batch resolved here will not be in the log (see `unlogged`).
    pub(crate) fn not_appended(&self) {
        if !self.unlogged.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "an ingest batch was resolved but not appended: the identity graph is not written to the state store until a restart"
            );
        }
    }

    /// Applies the stamps read back from the log past what the store covers.
    pub fn restore(&self, facts: &[(ProfileId, IdentityStamp)]) -> Result<(), StoreError> {
        self.graph().restore(facts)
    }

    /// Per partition, the offset below which the stored graph holds every
    /// record's facts; empty when nothing is stored.
    pub(crate) fn covered(&self) -> Result<Vec<u64>, StoreError> {
        match self.graph().rows() {
            Some(rows) => rows.covered(),
            None => Ok(Vec::new()),
        }
    }

    /// Held while writing the graph.
    pub(crate) fn lock_writing(&self) -> MutexGuard<'_, ()> {
        lock(&self.writing)
    }

    /// Forgets the person `id` stands for, in memory and in the store (a
    /// privacy erasure); `false` when no live profile has that id. Between
    /// writes, so that none puts the person's rows back.
    pub(crate) fn forget(&self, id: &ProfileId) -> Result<bool, StoreError> {
        let _writing = self.lock_writing();
        let mut graph = self.graph();
        let Some(live) = graph.canonical(id)? else {
            return Ok(false);
        };
        Ok(!graph.forget(&live)?.is_empty())
    }

    /// Writes the changes since the last write, as covering the log up to
    /// `durable_ends` (read before this call: every record below them was
    /// resolved before it), then evicts what memory may let go. Returns the
    /// profiles written, and only once every batch resolved before the call
    /// has settled (with or without a store). The caller holds
    /// [`Self::lock_writing`].
    pub(crate) fn write_changes(&self, durable_ends: &[u64]) -> Result<usize, StoreError> {
        let (changes, epoch, rows) = {
            let mut graph = self.graph();
            let rows = graph.rows().cloned();
            let changes = rows.is_some().then(|| graph.take_changes());
            let epoch = std::mem::replace(&mut *lock(&self.epoch), Arc::new(()));
            (changes, epoch, rows)
        };
        // Every batch resolved under the old epoch settles within its
        // fsync; until then its facts may still be lost.
        while Arc::strong_count(&epoch) > 1 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let (Some(changes), Some(rows)) = (changes, rows) else {
            return Ok(0);
        };
        if self.unlogged.load(Ordering::Relaxed) {
            self.graph().written(changes, false);
            return Ok(0);
        }
        let written = changes.len();
        let result = changes.commit(&rows, durable_ends);
        self.graph().written(changes, result.is_ok());
        result?;
        // In steps: ingest waits on the graph meanwhile.
        while self.graph().evict(EVICTION_STEP) > 0 {}
        Ok(written)
    }

    /// Identifier kinds declared in config, read from traits.
    pub fn custom_kinds(&self) -> &[String] {
        &self.custom_kinds
    }

    /// The graph, for lookups. Held briefly: ingest waits on it.
    pub fn graph(&self) -> MutexGuard<'_, PagedGraph> {
        lock(&self.graph)
    }
}

/// Profiles evicted per hold of the graph.
const EVICTION_STEP: usize = 4_096;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The identity-bearing members of a message as a small JSON object.
fn identity_members(json: &[u8]) -> Value {
    // Stored events are text: checked as UTF-8 once, whole, rather than
    // string by string as parsing bytes does. Bytes that are not text
    // (never written by ingest) get the byte parser's more lenient read.
    let Ok(text) = std::str::from_utf8(json) else {
        return serde_json::from_slice(json).unwrap_or(Value::Null);
    };
    let Ok(view) = serde_json::from_str::<IdentityView>(text) else {
        // An unusual shape (say a `context` that is not an object): read
        // it all and let identity find what it can.
        return serde_json::from_str(text).unwrap_or(Value::Null);
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
    use percorso_identity::identifiers_of;

    use super::*;

    #[test]
    fn reads_ids_from_traits_and_context_and_stamps_what_it_decided() {
        let stage = IdentityStage::new(IdentityRules::default(), vec![], None, 0).unwrap();
        let [u1, a1] = [
            Identifier::new("user_id", "u1"),
            Identifier::new("anonymous_id", "a1"),
        ];
        let asked = [&u1, &a1];
        let first = stage
            .resolve(
                br#"{"type":"page","anonymousId":"a1","properties":{"x":[1,2]}}"#,
                ["", "a1"],
                asked,
            )
            .unwrap();
        assert!(!first.profile.is_empty());
        assert!(!first.stamp.is_empty());
        let again = stage
            .resolve(
                br#"{"type":"track","anonymousId":"a1","event":"E"}"#,
                ["", "a1"],
                asked,
            )
            .unwrap();
        assert_eq!(
            again,
            Resolved {
                profile: first.profile.clone(),
                stamp: vec![],
                leads: [None, Some(true)],
            }
        );
        let login = stage
            .resolve(
                br#"{"type":"identify","userId":"u1","anonymousId":"a1","context":{"traits":{"email":"A@x.io"},"ip":"1.2.3.4"}}"#,
                ["u1", "a1"],
                asked,
            )
            .unwrap();
        assert_eq!(login.profile, first.profile);
        assert_eq!(login.leads, [Some(true), Some(true)]);
        let stamp = IdentityStamp::decode(&login.stamp).unwrap();
        let added: Vec<String> = stamp.added.iter().map(ToString::to_string).collect();
        assert_eq!(added, ["user_id:u1", "email:a@x.io"]);
        assert_eq!(
            stage
                .resolve(
                    br#"{"type":"track","anonymousId":"null"}"#,
                    ["", "null"],
                    asked
                )
                .unwrap(),
            Resolved::default()
        );
    }

    /// The shortcut for plain events finds exactly what reading the whole
    /// event finds, and steps aside whenever the text may hold more.
    #[test]
    fn ids_read_without_parsing_are_those_parsing_finds() {
        let cases = [
            (r#"{"type":"track","event":"E","anonymousId":"a1"}"#, true),
            (r#"{"type":"page","userId":42,"anonymousId":"a2"}"#, true),
            (
                r#"{"type":"track","event":"E","userId":"  ","anonymousId":"a3"}"#,
                true,
            ),
            (
                r#"{"type":"track","event":"E","userId":"u4","properties":{"note":"no traits here"}}"#,
                false,
            ),
            (
                r#"{"type":"identify","userId":"u5","traits":{"email":"e@x.io"}}"#,
                false,
            ),
            (
                r#"{"type":"track","event":"E","userId":"u6","context":{"traits":{"phone":"+441234"}}}"#,
                false,
            ),
            (
                r#"{"type":"track","event":"E","userId":"u7","context":{"tr\u0061its":{"email":"f@x.io"}}}"#,
                false,
            ),
            (
                r#"{"type":"track","event":"E","userId":"u8","context":{"externalIds":[{"id":"c","type":"crm"}]}}"#,
                false,
            ),
            (r#"{"type":"alias","userId":"u9","previousId":"a9"}"#, false),
        ];
        let defaults = crate::BatchDefaults::default();
        for (text, plain) in cases {
            let event = crate::normalize(text, None, None, &defaults, 0).expect(text);
            let shortcut = ids_only(&event.json, &event.user_id, &event.anonymous_id);
            assert_eq!(shortcut.is_some(), plain, "{text}");
            let parsed = identifiers_of(&identity_members(&event.json), &[]);
            if let Some(shortcut) = shortcut {
                assert_eq!(shortcut, parsed, "{text}");
            }
        }
    }
}
