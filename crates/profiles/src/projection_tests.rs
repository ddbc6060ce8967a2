//! The projection against the whole event it is a part of.

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn definition(value: Value) -> ComputedTrait {
    serde_json::from_value(value).unwrap()
}

#[test]
fn keeps_what_definitions_read_and_drops_the_rest() {
    let definitions = [definition(
        json!({ "name": "spend", "event": "Order Completed", "aggregation": "sum",
            "property": "properties.revenue",
            "filters": [{ "path": "context.page.path", "comparison": "equals", "value": "/checkout" }] }),
    )];
    let projection = Projection::of(&definitions);
    let event = json!({
        "type": "track", "event": "Order Completed", "userId": "u1", "messageId": "m1",
        "properties": { "revenue": 12.5, "channel": "email", "sku": "a", "items": [1, 2] },
        "context": { "page": { "path": "/checkout", "title": "Pay" }, "userAgent": "x",
                     "library": { "name": "analytics.js" } },
        "integrations": { "All": true }, "timestamp": "2026-01-01T00:00:00Z",
        "traits": { "email": "a@b.c", "nested": { "deep": [1] } }
    });
    let decoded = projection.decode(event.to_string().as_bytes()).unwrap();
    for path in [
        "type",
        "event",
        "userId",
        "messageId",
        "properties.revenue",
        "properties.channel",
        "context.page.path",
        "traits",
        "traits.nested",
        "traits.nested.deep",
    ] {
        assert!(decoded.at(path).is_some(), "{path}");
        assert_eq!(decoded.at(path), event.at(path), "{path}");
    }
    for dropped in [
        "properties.sku",
        "properties.items",
        "context.userAgent",
        "context.page.title",
        "context.library",
        "integrations",
        "timestamp",
        "anonymousId",
    ] {
        assert_eq!(decoded.at(dropped), None, "{dropped}");
    }
    assert_eq!(
        decoded.values.len(),
        8,
        "one value per kept path the event has"
    );
}

#[test]
fn a_path_through_something_other_than_an_object_finds_nothing_either_way() {
    let definitions = [definition(
        json!({ "name": "n", "aggregation": "last", "property": "properties.a.b" }),
    )];
    let projection = Projection::of(&definitions);
    for properties in [json!("text"), json!([{ "b": 1 }]), json!({ "a": 3 })] {
        let event = json!({ "type": "track", "properties": properties });
        let decoded = projection.decode(event.to_string().as_bytes()).unwrap();
        assert_eq!(decoded.at("properties.a.b"), None);
        assert_eq!(event.at("properties.a.b"), None);
    }
}

#[test]
fn a_member_named_twice_reads_as_a_parse_does_the_last() {
    let definitions = [definition(
        json!({ "name": "n", "aggregation": "sum", "property": "properties.revenue" }),
    )];
    let projection = Projection::of(&definitions);
    for text in [
        r#"{"properties":{"revenue":1,"channel":"x"},"properties":{"channel":"y"}}"#,
        r#"{"properties":{"revenue":1},"properties":5}"#,
        r#"{"event":"A","event":"B","properties":{"revenue":1,"revenue":2}}"#,
    ] {
        let parsed: Value = serde_json::from_str(text).unwrap();
        let decoded = projection.decode(text.as_bytes()).unwrap();
        for path in ["event", "properties.revenue", "properties.channel"] {
            assert_eq!(decoded.at(path), parsed.at(path), "{text} {path}");
        }
    }
}

#[test]
fn the_whole_projection_reads_everything() {
    let event = json!({ "a": { "b": [1, { "c": 2 }] }, "d": null });
    let decoded = Projection::whole()
        .decode(event.to_string().as_bytes())
        .unwrap();
    for path in ["a", "a.b", "d", "a.x", ""] {
        assert_eq!(decoded.at(path), event.at(path), "{path}");
    }
}

#[test]
fn malformed_json_is_an_error() {
    let projection = Projection::default();
    assert!(projection
        .decode(br#"{"type": "track", "skipped": [1, }"#)
        .is_err());
    assert!(projection.decode(br#"{"type": "track"} trailing"#).is_err());
}

/// JSON text over few member names (the empty one and `event`, always
/// kept, among them), so that paths overlap and collide; an object may
/// name a member twice.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<i32>().prop_map(|n| n.to_string()),
        "[a-c]{0,2}".prop_map(|s| format!("{s:?}")),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec(
                (prop_oneof!["[a-c]?", Just("event".to_owned())], inner),
                0..4
            )
            .prop_map(|members| {
                let members: Vec<String> =
                    members.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

proptest! {
    /// Every path a definition reads, and any path under one, finds what
    /// a parse of the whole event finds (which keeps the last of a member
    /// named twice), empty member names and path segments included.
    #[test]
    fn what_a_definition_reads_is_what_the_whole_event_holds(
        text in json_text(),
        paths in prop::collection::vec("[a-c]?(\\.[a-c]?){0,2}", 1..4),
        deeper in "(\\.[a-c]?){0,2}",
    ) {
        let Ok(event) = serde_json::from_str::<Value>(&text) else {
            return Ok(()); // a leaf string the format above cannot quote
        };
        let definitions: Vec<ComputedTrait> = paths
            .iter()
            .map(|path| json!({ "name": "n", "aggregation": "last", "property": path }))
            .map(definition)
            .collect();
        let decoded = Projection::of(&definitions).decode(text.as_bytes()).unwrap();
        for path in paths.iter().map(String::as_str).chain(["event", "type"]) {
            prop_assert_eq!(decoded.at(path), event.at(path), "{}", path);
            let below = format!("{path}{deeper}");
            prop_assert_eq!(decoded.at(&below), event.at(&below), "{}", below);
        }
    }
}

#[test]
fn extra_paths_are_kept_and_the_kept_members_rebuild_as_an_object() {
    let projection = Projection::with_paths(&[], ["properties.sku", "context.page.path"]);
    let event = json!({
        "type": "track", "event": "Viewed", "messageId": "m1",
        "properties": { "sku": "a", "price": 3 },
        "context": { "page": { "path": "/p", "title": "T" } }
    });
    let decoded = projection.decode(event.to_string().as_bytes()).unwrap();
    assert_eq!(decoded.at("properties.sku"), Some(&json!("a")));
    assert_eq!(decoded.at("properties.price"), None);
    assert_eq!(
        decoded.to_value(),
        json!({
            "type": "track", "event": "Viewed", "messageId": "m1",
            "properties": { "sku": "a" },
            "context": { "page": { "path": "/p" } }
        })
    );
    let whole = Projection::whole()
        .decode(event.to_string().as_bytes())
        .unwrap();
    assert_eq!(whole.to_value(), event);
}
