//! Identity resolution through the public API: the scenarios people hit,
//! order independence, and the generator's planted identity truths.

use std::collections::{BTreeSet, HashMap};

use percorso_identity::{Identifier, IdentityGraph, IdentityRules, IdentityStamp, ProfileId};
use proptest::prelude::*;
use serde_json::json;

#[path = "identity/paged.rs"]
mod paged;

fn graph() -> IdentityGraph {
    IdentityGraph::new(IdentityRules::default())
}

fn id(kind: &str, value: &str) -> Identifier {
    Identifier::new(kind, value)
}

#[test]
fn anonymous_browsing_then_login_then_a_second_device_is_one_profile() {
    let mut graph = graph();
    let events = [
        json!({ "type": "page", "anonymousId": "laptop" }),
        json!({ "type": "identify", "userId": "ada", "anonymousId": "laptop", "traits": { "email": "ada@example.com" } }),
        json!({ "type": "identify", "anonymousId": "phone", "traits": { "email": "ADA@example.com" } }),
        json!({ "type": "track", "anonymousId": "phone", "event": "Product Viewed" }),
        json!({ "type": "track", "userId": "ada", "event": "Order Completed" }),
    ];
    let profiles: BTreeSet<ProfileId> = events
        .iter()
        .map(|e| graph.resolve_event(e, &[]).profile.expect("identified"))
        .collect();
    assert_eq!(profiles.len(), 1, "one person, one profile");
    let profile = profiles.into_iter().next().unwrap();
    let held: Vec<String> = graph
        .identifiers(&profile)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        held,
        [
            "user_id:ada",
            "email:ada@example.com",
            "anonymous_id:laptop",
            "anonymous_id:phone"
        ]
    );
}

#[test]
fn two_user_ids_sharing_an_email_never_merge() {
    let mut graph = graph();
    let first = graph.resolve(&[id("user_id", "u1"), id("email", "family@example.com")]);
    let second = graph.resolve(&[
        id("user_id", "u2"),
        id("email", "family@example.com"),
        id("anonymous_id", "a2"),
    ]);
    assert_ne!(first.profile, second.profile);
    assert_eq!(
        second.dropped,
        vec![id("email", "family@example.com")],
        "the email stays with u1"
    );
    assert!(second.merged.is_empty());
    assert_eq!(
        graph.profile_of(&id("anonymous_id", "a2")),
        second.profile.as_ref(),
        "lower-priority ids without conflict still join"
    );
    assert_eq!(
        graph.profile_of(&id("email", "family@example.com")),
        first.profile.as_ref()
    );
}

#[test]
fn blocked_values_never_merge_anything() {
    let mut graph = graph();
    let a = graph.resolve(&[
        id("user_id", "u1"),
        id("anonymous_id", "anonymous"),
        id("email", "null"),
    ]);
    let b = graph.resolve(&[
        id("user_id", "u2"),
        id("anonymous_id", "anonymous"),
        id("email", "null"),
    ]);
    assert_ne!(a.profile, b.profile);
    assert_eq!(b.blocked.len(), 2);
    let nobody = graph.resolve(&[id("user_id", "0000"), id("anonymous_id", "undefined")]);
    assert_eq!(
        nobody.profile, None,
        "an event with only placeholders identifies nobody"
    );
    assert_eq!(graph.profile_count(), 2);
}

#[test]
fn a_merge_keeps_the_oldest_profile_and_moves_everything_to_it() {
    let mut graph = graph();
    let older = graph.resolve(&[id("anonymous_id", "web")]).profile.unwrap();
    let newer = graph.resolve(&[id("anonymous_id", "app")]).profile.unwrap();
    let login = graph.resolve(&[
        id("user_id", "u"),
        id("anonymous_id", "app"),
        id("anonymous_id", "web"),
    ]);
    assert_eq!(login.profile.as_ref(), Some(&older));
    assert_eq!(login.merged.len(), 1);
    assert_eq!(
        (&login.merged[0].from, &login.merged[0].into),
        (&newer, &older)
    );
    assert_eq!(login.merged[0].identifiers, vec![id("anonymous_id", "app")]);
    assert_eq!(
        graph.resolve(&[id("anonymous_id", "app")]).profile,
        Some(older)
    );
    assert_eq!(graph.profile_count(), 1);
}

#[test]
fn a_profile_holds_at_most_the_limit_of_a_kind() {
    let mut graph =
        IdentityGraph::new(IdentityRules::new(&["user_id"], &[("anonymous_id", 2)], &[]).unwrap());
    graph.resolve(&[id("user_id", "u"), id("anonymous_id", "a1")]);
    graph.resolve(&[id("user_id", "u"), id("anonymous_id", "a2")]);
    let third = graph.resolve(&[id("user_id", "u"), id("anonymous_id", "a3")]);
    assert_eq!(third.dropped, vec![id("anonymous_id", "a3")]);
    assert_eq!(graph.profile_of(&id("anonymous_id", "a3")), None);
}

/// A profile can hold more than a limit allows after the limit was
/// lowered (the graph is restored from stamps made under the old rules).
/// Seeing its identifiers again must go through the same rules as any
/// event, not a shortcut for already-known identifiers.
#[test]
fn a_profile_over_a_lowered_limit_is_matched_by_the_full_rules() {
    let loose = IdentityRules::new(&["user_id"], &[("anonymous_id", 5)], &[]).unwrap();
    let strict = IdentityRules::new(&["user_id"], &[("anonymous_id", 1)], &[]).unwrap();
    let ids = [id("anonymous_id", "a1"), id("anonymous_id", "a2")];
    let mut before = IdentityGraph::new(loose);
    let made = before.resolve(&ids);
    let facts = vec![(made.profile.clone().unwrap(), IdentityStamp::of(&made))];
    let mut after = IdentityGraph::new(strict);
    after.restore(&facts);
    // Under the strict rules each of the two conflicts with the other
    // already on the profile, so neither can join a match.
    let again = after.resolve(&ids);
    assert_eq!(again.profile, None, "{again:?}");
    assert_eq!(again.dropped, ids.to_vec());
}

#[test]
fn an_alias_joins_the_previous_anonymous_profile_to_the_user() {
    let mut graph = graph();
    let anonymous = graph
        .resolve_event(&json!({ "type": "page", "anonymousId": "a-9" }), &[])
        .profile;
    let alias = graph.resolve_event(
        &json!({ "type": "alias", "userId": "u-9", "previousId": "a-9" }),
        &[],
    );
    assert_eq!(alias.profile, anonymous);
    assert_eq!(graph.profile_of(&id("user_id", "u-9")), anonymous.as_ref());
}

/// Which identifiers ended up together, independent of profile ids.
fn partition(
    graph: &IdentityGraph,
    identifiers: &BTreeSet<Identifier>,
) -> BTreeSet<BTreeSet<Identifier>> {
    let mut groups: HashMap<&ProfileId, BTreeSet<Identifier>> = HashMap::new();
    for identifier in identifiers {
        if let Some(profile) = graph.profile_of(identifier) {
            groups
                .entry(profile)
                .or_default()
                .insert(identifier.clone());
        }
    }
    groups.into_values().collect()
}

/// People with one user id, up to 3 anonymous ids and an email; each event
/// carries a random non-empty subset of one person's ids, sometimes with a
/// blocked placeholder. No event can break a limit.
fn people_events() -> impl Strategy<Value = Vec<Vec<Identifier>>> {
    let person = (0usize..4, any::<bool>());
    prop::collection::vec(person, 1..8).prop_flat_map(|people| {
        let ids: Vec<Vec<Identifier>> = people
            .iter()
            .enumerate()
            .map(|(p, &(anonymous, with_email))| {
                let mut ids = vec![id("user_id", &format!("u{p}"))];
                ids.extend((0..anonymous).map(|a| id("anonymous_id", &format!("a{p}-{a}"))));
                if with_email {
                    ids.push(id("email", &format!("p{p}@example.com")));
                }
                ids
            })
            .collect();
        let event =
            (0..ids.len(), any::<u8>(), any::<bool>()).prop_map(move |(p, mask, placeholder)| {
                let own = &ids[p];
                let mut carried: Vec<Identifier> = own
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, i)| i.clone())
                    .collect();
                if carried.is_empty() {
                    carried.push(own[(mask as usize) % own.len()].clone());
                }
                if placeholder {
                    carried.push(id("anonymous_id", "undefined"));
                }
                carried
            });
        prop::collection::vec(event, 1..40)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_of_the_same_events_gives_the_same_profiles(
        events in people_events(),
        seed in any::<u64>(),
    ) {
        let mut shuffled = events.clone();
        // A deterministic shuffle from the seed (Fisher-Yates with an LCG).
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (state >> 33) as usize % (i + 1));
        }
        let all: BTreeSet<Identifier> = events.iter().flatten().cloned().collect();
        let mut in_order = graph();
        let mut reordered = graph();
        for event in &events {
            in_order.resolve(event);
        }
        for event in &shuffled {
            reordered.resolve(event);
        }
        prop_assert_eq!(partition(&in_order, &all), partition(&reordered, &all));
        prop_assert_eq!(in_order.profile_count(), reordered.profile_count());
    }

    /// The stamps written into the log rebuild the live graph exactly —
    /// same profile ids, same owners, same merge forwarding — whatever
    /// order a rebuild reads them in, limit conflicts included.
    #[test]
    fn stamps_replayed_in_any_order_rebuild_the_live_graph(
        events in prop::collection::vec(prop::collection::vec((0u8..3, 0u8..5), 1..4), 1..40),
        seed in any::<u64>(),
    ) {
        let kinds = ["user_id", "email", "anonymous_id"];
        let mut live = graph();
        let mut facts = Vec::new();
        let mut all = BTreeSet::new();
        for event in &events {
            let ids: Vec<Identifier> =
                event.iter().map(|&(k, v)| id(kinds[k as usize], &format!("v{v}"))).collect();
            all.extend(ids.iter().cloned());
            let resolution = live.resolve(&ids);
            let stamp = IdentityStamp::of(&resolution);
            let decoded = IdentityStamp::decode(&stamp.encode()).unwrap();
            prop_assert_eq!(&decoded, &stamp);
            if let Some(profile) = resolution.profile {
                facts.push((profile, decoded));
            }
        }
        let mut state = seed | 1;
        for i in (1..facts.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            facts.swap(i, (state >> 33) as usize % (i + 1));
        }
        let mut rebuilt = graph();
        rebuilt.restore(&facts);
        for identifier in &all {
            prop_assert_eq!(live.profile_of(identifier), rebuilt.profile_of(identifier));
        }
        prop_assert_eq!(live.profile_count(), rebuilt.profile_count());
        for (profile, _) in &facts {
            prop_assert_eq!(live.canonical(profile), rebuilt.canonical(profile));
            prop_assert_eq!(live.identifiers(profile), rebuilt.identifiers(profile));
            let mut a = live.absorbed(profile).to_vec();
            a.sort();
            prop_assert_eq!(a, rebuilt.absorbed(profile).to_vec());
        }
        // New profiles after a rebuild never reuse a live id.
        let next = id("user_id", "fresh");
        prop_assert_eq!(live.resolve(std::slice::from_ref(&next)).profile, rebuilt.resolve(&[next]).profile);
    }
}

#[test]
fn the_generators_planted_identities_are_recovered_exactly() {
    let config = percorso_generator::GeneratorConfig::new(1500, 30, 11);
    let mut jsonl = Vec::new();
    let summary = percorso_generator::generate(&config, &mut jsonl).unwrap();
    let truth = &summary.truths.identity;
    let mut graph = graph();
    for line in jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let event: serde_json::Value = serde_json::from_slice(line).unwrap();
        let resolution = graph.resolve_event(&event, &[]);
        assert!(
            resolution.dropped.is_empty(),
            "no limit conflicts in generated data: {resolution:?}"
        );
    }
    assert_eq!(graph.profile_count() as u64, truth.realised_profiles);
    let mut identified = 0;
    let mut multi_device = 0;
    let mut seen = BTreeSet::new();
    for line in jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let event: serde_json::Value = serde_json::from_slice(line).unwrap();
        let Some(user) = event["userId"].as_str() else {
            continue;
        };
        let profile = graph.profile_of(&id("user_id", user)).unwrap().clone();
        if seen.insert(profile.clone()) {
            identified += 1;
            let held = graph.identifiers(&profile).unwrap();
            if held
                .iter()
                .filter(|i| i.kind.as_str() == "anonymous_id")
                .count()
                >= 2
            {
                multi_device += 1;
            }
        }
    }
    assert_eq!(identified, truth.realised_identified_profiles);
    assert_eq!(multi_device, truth.realised_multi_device_profiles);
    assert_eq!(
        graph.profile_count() as u64 - identified,
        truth.realised_anonymous_only_profiles
    );
}
