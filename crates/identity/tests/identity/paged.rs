//! The graph paged to the state store matches the graph held in memory:
//! while it runs with almost nothing in memory, and after a restart that
//! replays stamps over what was written.

use std::collections::BTreeSet;

use percorso_identity::{
    GraphRows, Identifier, IdentityGraph, IdentityRules, IdentityStamp, PagedGraph, ProfileId,
    Resolution,
};
use percorso_store::Store;
use proptest::prelude::*;

fn paged(store: &Store, keys: &std::path::Path) -> PagedGraph {
    // A capacity of one: nearly every match reads its people back.
    let rows = GraphRows::open(store, keys).unwrap();
    PagedGraph::stored(IdentityRules::default(), rows, 1).unwrap()
}

/// Writes the changes as the collector does, then evicts what it may.
fn write(graph: &mut PagedGraph, covered: u64) {
    let changes = graph.take_changes();
    let rows = graph.rows().unwrap().clone();
    changes.commit(&rows, &[covered]).unwrap();
    graph.written(changes, true);
    while graph.evict(2) > 0 {}
}

/// What a resolution decided, whatever order identifiers were kept in.
fn decided(resolution: &Resolution) -> impl PartialEq + std::fmt::Debug {
    let merges: Vec<_> = resolution
        .merged
        .iter()
        .map(|m| {
            let moved: BTreeSet<_> = m.identifiers.iter().cloned().collect();
            (m.from.clone(), m.into.clone(), moved)
        })
        .collect();
    (
        resolution.profile.clone(),
        resolution.sequence,
        merges,
        resolution.added.clone(),
        resolution.dropped.clone(),
    )
}

fn assert_same(
    memory: &IdentityGraph,
    paged: &mut PagedGraph,
    all: &BTreeSet<Identifier>,
    profiles: &BTreeSet<ProfileId>,
) {
    // Lookups read people back: by a profile id merged away, by an id.
    for profile in profiles {
        while paged.evict(2) > 0 {}
        assert_eq!(memory.canonical(profile), paged.canonical(profile).unwrap());
        while paged.evict(2) > 0 {}
        assert_eq!(memory.family(profile), paged.family(profile).unwrap());
    }
    for identifier in all {
        while paged.evict(2) > 0 {}
        assert_eq!(
            memory.profile_of(identifier).cloned(),
            paged.profile_of(identifier).unwrap(),
            "{identifier}"
        );
    }
    for profile in profiles {
        assert_eq!(memory.canonical(profile), paged.canonical(profile).unwrap());
        assert_eq!(
            memory.identifiers(profile),
            paged.identifiers(profile).unwrap()
        );
        let mut absorbed = memory.absorbed(profile).to_vec();
        absorbed.sort();
        assert_eq!(absorbed, paged.absorbed(profile).unwrap());
    }
    assert_eq!(memory.profile_count() as u64, paged.profile_count());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_graph_paged_to_the_store_matches_one_in_memory_and_after_a_restart(
        events in prop::collection::vec(prop::collection::vec((0u8..3, 0u8..6), 1..4), 1..40),
        write_every in 1usize..6,
        replay_back in 0usize..10,
    ) {
        let kinds = ["user_id", "email", "anonymous_id"];
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state"), 1 << 20).unwrap();
        let keys = dir.path().join("keys");
        let mut memory = IdentityGraph::new(IdentityRules::default());
        let mut graph = paged(&store, &keys);
        let mut facts = Vec::new();
        let mut all = BTreeSet::new();
        let mut covered = 0;
        for (n, event) in events.iter().enumerate() {
            let ids: Vec<Identifier> = event
                .iter()
                .map(|&(k, v)| Identifier::new(kinds[k as usize], &format!("v{v}")))
                .collect();
            all.extend(ids.iter().cloned());
            let expected = memory.resolve(&ids);
            let got = graph.resolve(&ids).unwrap();
            prop_assert_eq!(decided(&expected), decided(&got));
            if let Some(profile) = got.profile.clone() {
                facts.push((profile, IdentityStamp::of(&got)));
            }
            if n % write_every == 0 {
                covered = facts.len();
                write(&mut graph, covered as u64);
            }
        }
        let profiles: BTreeSet<ProfileId> = facts.iter().map(|(p, _)| p.clone()).collect();
        assert_same(&memory, &mut graph, &all, &profiles);

        // A restart: what was written, and the stamps from a point at or
        // before the written coverage replayed over it.
        drop(graph);
        let mut reopened = paged(&store, &keys);
        prop_assert_eq!(reopened.rows().unwrap().covered().unwrap(), vec![covered as u64]);
        reopened.restore(&facts[covered.saturating_sub(replay_back)..]).unwrap();
        assert_same(&memory, &mut reopened, &all, &profiles);
        let fresh = [Identifier::new("user_id", "fresh")];
        prop_assert_eq!(
            memory.resolve(&fresh).profile,
            reopened.resolve(&fresh).unwrap().profile
        );
    }

    /// What a resolution says of an event's own ids (the index files an
    /// event by it) is what looking each up says, then and after every
    /// later event: limit conflicts, blocked values, aliases and merges
    /// included.
    #[test]
    fn a_resolution_tells_which_of_an_events_ids_lead_to_its_profile(
        events in prop::collection::vec((0u8..4, 0u8..5, 0u8..4, 0u8..3), 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state"), 1 << 20).unwrap();
        let mut graph = paged(&store, &dir.path().join("keys"));
        let mut told: Vec<(Identifier, ProfileId)> = Vec::new();
        for (n, &(user, anonymous, email, shape)) in events.iter().enumerate() {
            // Value 0 is a blocked placeholder; emails are shared across
            // users (a limit conflict), anonymous ids across people.
            let value = |prefix: &str, v: u8| match v {
                0 => "undefined".to_owned(),
                v => format!("{prefix}{v}"),
            };
            let email = format!("{}@example.com", value("e", email));
            let message = match shape {
                // An alias: its previousId is not one of the asked ids.
                0 => serde_json::json!({
                    "type": "alias", "userId": value("u", user),
                    "anonymousId": value("a", anonymous), "previousId": "a1",
                }),
                // Every id blocked: no profile at all.
                1 => serde_json::json!({
                    "type": "track", "userId": "null", "anonymousId": "undefined",
                }),
                _ => serde_json::json!({
                    "type": "identify", "userId": value("u", user),
                    "anonymousId": value("a", anonymous), "traits": { "email": email },
                }),
            };
            let user_id = Identifier::new("user_id", &value("u", user));
            let anonymous_id = Identifier::new("anonymous_id", &value("a", anonymous));
            let elsewhere = Identifier::new("anonymous_id", "elsewhere");
            let asked = [&user_id, &anonymous_id, &elsewhere];
            let (resolution, leads) = graph.resolve_event_for(&message, &[], asked).unwrap();
            prop_assert_eq!(leads[2], None, "an id the message does not carry, event {}", n);
            match resolution.profile {
                None => prop_assert_eq!(shape, 1, "only the all-blocked event has no profile"),
                Some(profile) => {
                    for (identifier, answer) in [(user_id, leads[0]), (anonymous_id, leads[1])] {
                        if shape == 1 {
                            continue;
                        }
                        let answer = answer.expect("a carried id is answered");
                        let found = graph.leads_to(&identifier, &profile.0).unwrap();
                        prop_assert_eq!(answer, found, "event {}", n);
                        if answer {
                            told.push((identifier, profile.clone()));
                        }
                    }
                }
            }
            for (identifier, profile) in &told {
                prop_assert!(graph.leads_to(identifier, &profile.0).unwrap(), "after event {}", n);
            }
            if n % 3 == 0 {
                write(&mut graph, n as u64);
            }
        }
    }
}

#[test]
fn a_forgotten_person_is_gone_from_the_store_and_stays_gone_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state"), 1 << 20).unwrap();
    let keys = dir.path().join("keys");
    let mut graph = paged(&store, &keys);
    let ada = [
        Identifier::new("user_id", "ada"),
        Identifier::new("email", "ada@example.com"),
    ];
    let anonymous = [Identifier::new("anonymous_id", "a-1")];
    let first = graph.resolve(&anonymous).unwrap().profile.unwrap();
    let live = graph.resolve(&ada).unwrap().profile.unwrap();
    // The anonymous profile is newer: it merges into Ada's.
    let joined = [ada[0].clone(), anonymous[0].clone()];
    assert_eq!(
        graph.resolve(&joined).unwrap().profile.as_ref(),
        Some(&first)
    );
    write(&mut graph, 3);
    assert_eq!(graph.held_in_memory(), 1);
    assert_eq!(graph.profile_count(), 1);

    let gone = graph.forget(&first).unwrap();
    assert_eq!(gone.len(), 2, "{gone:?} ({live} was merged in)");
    assert_eq!(graph.profile_count(), 0);
    write(&mut graph, 3);
    drop(graph);

    let mut reopened = paged(&store, &keys);
    assert_eq!(reopened.profile_count(), 0);
    for identifier in ada.iter().chain(&anonymous) {
        assert_eq!(
            reopened.profile_of(identifier).unwrap(),
            None,
            "{identifier}"
        );
    }
    assert_eq!(reopened.canonical(&live).unwrap(), None);
    assert_eq!(reopened.canonical(&first).unwrap(), None);
    // The same identifiers seen again make someone new.
    let again = reopened.resolve(&ada).unwrap();
    assert!(again.created);
    assert_ne!(again.profile, Some(first));
}
