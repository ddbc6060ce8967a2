//! Traits with provenance and per-channel consent.

use percorso_profiles::{ProfileTraits, Subscriptions};
use proptest::prelude::*;
use serde_json::{json, Value};

fn identify(message_id: &str, traits: Value) -> Value {
    json!({ "type": "identify", "userId": "u", "messageId": message_id, "traits": traits })
}

#[test]
fn the_latest_event_wins_trait_by_trait_and_provenance_is_kept() {
    let mut traits = ProfileTraits::default();
    let changed = traits.apply(
        &identify("m2", json!({ "plan": "pro", "city": "Milano" })),
        "web",
        2_000,
    );
    assert_eq!(changed, ["city", "plan"]);
    // An older message arriving late changes only what it is newer for: nothing.
    assert!(
        traits.apply(
            &identify("m1", json!({ "plan": "free", "age": 40 })),
            "crm",
            1_000
        ) == ["age"]
    );
    assert_eq!(traits.get("plan").unwrap().value, json!("pro"));
    let age = traits.get("age").unwrap();
    assert_eq!(
        (age.source.as_str(), age.updated_at, age.message_id.as_str()),
        ("crm", 1_000, "m1")
    );
    assert_eq!(
        traits.apply(&identify("m3", json!({ "plan": "pro" })), "app", 3_000),
        Vec::<String>::new(),
        "same value: no change"
    );
    assert_eq!(
        traits.get("plan").unwrap().source,
        "app",
        "but the provenance moves on"
    );
    let group = json!({ "type": "group", "groupId": "acme", "messageId": "g1", "traits": { "employees": 40 } });
    assert_eq!(traits.apply(&group, "web", 4_000), ["group.acme.employees"]);
    let track = json!({ "type": "track", "event": "E", "traits": { "plan": "x" } });
    assert!(
        traits.apply(&track, "web", 5_000).is_empty(),
        "only identify and group set traits"
    );
    assert_eq!(traits.values()["plan"], json!("pro"));
}

#[test]
fn merging_profiles_keeps_the_newest_value_of_each_trait() {
    let mut survivor = ProfileTraits::default();
    survivor.apply(
        &identify("a", json!({ "plan": "pro", "city": "Roma" })),
        "web",
        10,
    );
    let mut merged = ProfileTraits::default();
    merged.apply(
        &identify("b", json!({ "plan": "free", "phone": "+39" })),
        "app",
        20,
    );
    survivor.merge(merged);
    assert_eq!(
        survivor.values(),
        json!({ "plan": "free", "city": "Roma", "phone": "+39" })
            .as_object()
            .unwrap()
            .clone()
    );
}

proptest! {
    /// Any order of the same identify messages gives the same traits, even
    /// when several share a millisecond.
    #[test]
    fn traits_do_not_depend_on_arrival_order(
        updates in prop::collection::vec((0i64..5, 0usize..3, 0i64..4), 1..20),
        seed in any::<u64>(),
    ) {
        let messages: Vec<(Value, i64)> = updates
            .iter()
            .enumerate()
            .map(|(i, &(ts, key, value))| (identify(&format!("m{i:03}"), json!({ format!("t{key}"): value })), ts))
            .collect();
        let mut shuffled = messages.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            shuffled.swap(i, (state >> 33) as usize % (i + 1));
        }
        let (mut a, mut b) = (ProfileTraits::default(), ProfileTraits::default());
        for (message, ts) in &messages {
            a.apply(message, "s", *ts);
        }
        for (message, ts) in &shuffled {
            b.apply(message, "s", *ts);
        }
        prop_assert_eq!(a, b);
    }
}

#[test]
fn consent_comes_from_traits_and_events_and_the_latest_wins() {
    let mut consent = Subscriptions::default();
    assert_eq!(consent.allows("email"), None, "unknown until told");
    let traits = json!({ "type": "identify", "traits": { "emailSubscribed": true, "smsSubscribed": false } });
    assert_eq!(consent.apply(&traits, 100), ["email", "sms"]);
    assert_eq!(
        (consent.allows("email"), consent.allows("sms")),
        (Some(true), Some(false))
    );
    let unsubscribe =
        json!({ "type": "track", "event": "Unsubscribed", "properties": { "channel": "Email" } });
    assert_eq!(consent.apply(&unsubscribe, 200), ["email"]);
    assert_eq!(consent.get("email").unwrap().reason, "event Unsubscribed");
    let stale = json!({ "type": "identify", "traits": { "email_opt_in": true } });
    assert!(
        consent.apply(&stale, 150).is_empty(),
        "an older statement does not undo a newer one"
    );
    assert_eq!(consent.allows("email"), Some(false));
    let spam = json!({ "type": "track", "event": "Email Marked as Spam" });
    consent.apply(
        &json!({ "type": "track", "event": "Subscribed", "properties": { "channel": "email" } }),
        300,
    );
    assert_eq!(consent.allows("email"), Some(true));
    consent.apply(&spam, 400);
    assert_eq!(consent.allows("email"), Some(false));
    let everything = json!({ "type": "identify", "traits": { "unsubscribed": true } });
    consent.apply(&everything, 500);
    assert!(["email", "sms", "push", "whatsapp"]
        .iter()
        .all(|c| consent.allows(c) == Some(false)));
    let unknown = json!({ "type": "track", "event": "Unsubscribed", "properties": { "channel": "carrier pigeon" } });
    assert!(consent.apply(&unknown, 600).is_empty());
}
