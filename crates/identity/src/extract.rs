//! Reading the identifiers an event carries.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde_json::Value;

use crate::identifier::{IdKind, Identifier};

/// Identifiers found in one Segment message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    pub identifiers: Vec<Identifier>,
    /// An alias's `previousId`: its kind depends on what the graph already
    /// knows (a known user id, else an anonymous id).
    pub previous_id: Option<String>,
}

/// Identifiers of `event`: `userId`, `anonymousId`, `email` and `phone`
/// from `traits` or `context.traits`, each `context.externalIds` entry
/// (`{"id", "type"}`, the type naming the kind), the custom kinds declared
/// in config when they appear in the traits, and an alias's `previousId`.
pub fn identifiers_of(event: &Value, custom_trait_kinds: &[String]) -> Extracted {
    let mut found = Vec::new();
    let mut add = |kind: &str, value: Option<&Value>| {
        if let Some(text) = value.and_then(id_text) {
            let identifier = Identifier::new(kind, &text);
            if !found.contains(&identifier) {
                found.push(identifier);
            }
        }
    };
    add(IdKind::USER_ID, event.get("userId"));
    add(IdKind::ANONYMOUS_ID, event.get("anonymousId"));
    // `get` twice rather than `pointer`, which allocates for every token.
    let context = event.get("context");
    let trait_sources = [event.get("traits"), context.and_then(|c| c.get("traits"))];
    for traits in trait_sources.into_iter().flatten() {
        add(IdKind::EMAIL, traits.get("email"));
        add(IdKind::PHONE, traits.get("phone"));
        for kind in custom_trait_kinds {
            add(kind, traits.get(kind));
        }
    }
    if let Some(Value::Array(external)) = context.and_then(|c| c.get("externalIds")) {
        for entry in external {
            if let Some(kind) = entry.get("type").and_then(Value::as_str) {
                add(&kind.trim().to_lowercase(), entry.get("id"));
            }
        }
    }
    let previous_id = match event.get("type").and_then(Value::as_str) {
        Some("alias") => event.get("previousId").and_then(id_text),
        _ => None,
    };
    Extracted {
        identifiers: found,
        previous_id,
    }
}

/// The identifiers of a message whose text names no traits, external ids
/// or previous id: its user and anonymous ids (as normalised), found
/// without parsing the text again. `None` when the text may hold more —
/// it has one of those words anywhere, or a `\u` escape, which could spell
/// a member's name — and [`identifiers_of`] must read it. Most events are
/// such plain tracks and pages, and reading them whole again for identity
/// was a tenth of ingest.
pub fn ids_only(text: &[u8], user_id: &str, anonymous_id: &str) -> Option<Extracted> {
    // Built once: making a searcher cost more than the search.
    static MAY_HOLD_MORE: LazyLock<[Finder<'static>; 4]> = LazyLock::new(|| {
        [b"traits" as &[u8], b"externalIds", b"previousId", b"\\u"].map(Finder::new)
    });
    if MAY_HOLD_MORE.iter().any(|word| word.find(text).is_some()) {
        return None;
    }
    let identifiers = [
        (IdKind::USER_ID, user_id),
        (IdKind::ANONYMOUS_ID, anonymous_id),
    ]
    .into_iter()
    .filter(|(_, id)| !id.trim().is_empty())
    .map(|(kind, id)| Identifier::new(kind, id))
    .collect();
    Some(Extracted {
        identifiers,
        previous_id: None,
    })
}

/// Ids may be sent as numbers; they are the same id as their decimal text.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_ids_in_every_place_segment_puts_them() {
        let event = json!({
            "type": "identify", "userId": 42, "anonymousId": "a-1",
            "traits": { "email": " Ada@Example.COM ", "phone": "+44 20 7946 0000", "loyalty_card": "LC-9" },
            "context": { "traits": { "email": "ada@example.com" },
                         "externalIds": [{ "id": "cus_1", "type": "Stripe_Customer", "collection": "users" }] }
        });
        let found = identifiers_of(&event, &["loyalty_card".to_owned()]);
        let texts: Vec<String> = found.identifiers.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "user_id:42",
                "anonymous_id:a-1",
                "email:ada@example.com",
                "phone:+442079460000",
                "loyalty_card:LC-9",
                "stripe_customer:cus_1"
            ]
        );
        assert_eq!(found.previous_id, None);
    }

    #[test]
    fn an_alias_brings_its_previous_id() {
        let event = json!({ "type": "alias", "userId": "u", "previousId": "a-7" });
        assert_eq!(
            identifiers_of(&event, &[]).previous_id.as_deref(),
            Some("a-7")
        );
    }
}
