//! Journey discovery: a hand-checked journey map, its options, and the
//! directly-follows graph pm4py discovers on a random log.

use std::collections::BTreeMap;

use percorso_analytics::discovery::{EdgeReport, NodeReport, VariantReport};
use percorso_analytics::rows::EventRow;
use percorso_analytics::summary::Durations;
use percorso_analytics::{DiscoveryQuery, DiscoveryReport, Snapshot};
use serde_json::{json, Value};

use crate::fixtures::{reference_script, row, snapshot_of, Rng};

const SEC: i64 = 1_000;
const MIN: i64 = 60_000;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

/// p1: A B C;  p2: A C;  p3: A B B C;  p4: B C;  p5: A B C (faster).
pub fn log() -> Vec<EventRow> {
    let at = |person: &str, time: i64, event: &str| row(person, T0 + time, event);
    vec![
        at("p1", 0, "A"),
        at("p1", MIN, "B"),
        at("p1", 3 * MIN, "C"),
        at("p2", 0, "A"),
        at("p2", 4 * MIN, "C"),
        at("p3", 0, "A"),
        at("p3", 2 * MIN, "B"),
        at("p3", 3 * MIN, "B"),
        at("p3", 7 * MIN, "C"),
        at("p4", 0, "B"),
        at("p4", 5 * MIN, "C"),
        at("p5", 0, "A"),
        at("p5", 30 * SEC, "B"),
        at("p5", 90 * SEC, "C"),
    ]
}

/// Files of 4 rows, so that people are put back together across files.
fn snapshot(dir: &std::path::Path, rows: Vec<EventRow>) -> Snapshot {
    snapshot_of(dir, rows, 4).0
}

fn query(json: Value) -> DiscoveryQuery {
    serde_json::from_value(json).unwrap()
}

fn node(name: &str, occurrences: u64, people: u64, starts: u64, ends: u64) -> NodeReport {
    NodeReport {
        name: name.to_owned(),
        occurrences,
        people,
        starts,
        ends,
    }
}

fn edge(from: &str, to: &str, gaps_ms: &[i64]) -> EdgeReport {
    EdgeReport {
        from: from.to_owned(),
        to: to.to_owned(),
        count: gaps_ms.len() as u64,
        duration: Durations::of(gaps_ms.to_vec()),
    }
}

fn counts(report: &DiscoveryReport) -> BTreeMap<(String, String), u64> {
    report
        .edges
        .iter()
        .map(|e| ((e.from.clone(), e.to.clone()), e.count))
        .collect()
}

#[test]
fn the_journey_map_of_a_small_log_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = snapshot(dir.path(), log());
    let report = query(json!({})).run(&snapshot).unwrap();
    assert_eq!(report.people, 5);
    assert_eq!(
        report.nodes,
        vec![
            node("B", 5, 4, 1, 0),
            node("C", 5, 5, 0, 5),
            node("A", 4, 4, 4, 0)
        ]
    );
    assert_eq!(
        report.edges,
        vec![
            edge("B", "C", &[2 * MIN, 4 * MIN, 5 * MIN, MIN]),
            edge("A", "B", &[MIN, 2 * MIN, 30 * SEC]),
            edge("A", "C", &[4 * MIN]),
            edge("B", "B", &[MIN]),
        ]
    );
    // Worked by hand: B→C gaps 1, 2, 4, 5 minutes; A→B 30 s, 1 and 2 minutes.
    let b_c = report.edges[0].duration;
    assert_eq!(
        (b_c.mean_ms, b_c.median_ms),
        (Some(180_000.0), Some(180_000.0))
    );
    assert!((b_c.p90_ms.unwrap() - 4.7 * MIN as f64).abs() < 1e-6);
    let a_b = report.edges[1].duration;
    assert_eq!(
        (a_b.mean_ms, a_b.median_ms),
        (Some(70_000.0), Some(60_000.0))
    );
    let variant = |names: &[&str], people: u64| VariantReport {
        activities: names.iter().map(|n| n.to_string()).collect(),
        people,
        share: people as f64 / 5.0,
    };
    assert_eq!(
        report.variants,
        vec![
            variant(&["A", "B", "C"], 2),
            variant(&["A", "B", "B", "C"], 1),
            variant(&["A", "C"], 1),
            variant(&["B", "C"], 1),
        ]
    );
    assert_eq!(report.distinct_variants, 4);

    let top = query(json!({ "top_variants": 2 })).run(&snapshot).unwrap();
    assert_eq!(top.variants, report.variants[..2]);
}

#[test]
fn discovery_keeps_only_the_events_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = snapshot(dir.path(), log());
    // B dropped: A is directly followed by C in four journeys.
    let report = query(json!({ "events": ["A", "C", "Never Seen"] }))
        .run(&snapshot)
        .unwrap();
    assert_eq!(report.people, 5);
    assert_eq!(
        report.nodes,
        vec![node("C", 5, 5, 1, 5), node("A", 4, 4, 4, 0)]
    );
    assert_eq!(
        report.edges,
        vec![edge("A", "C", &[3 * MIN, 4 * MIN, 7 * MIN, 90 * SEC])]
    );
    assert_eq!(report.variants[0].activities, ["A", "C"]);
    assert_eq!(report.variants[0].people, 4);

    // People with none of the events are not in the map.
    let report = query(json!({ "events": ["Never Seen"] }))
        .run(&snapshot)
        .unwrap();
    assert_eq!(
        (report.people, report.nodes.len(), report.variants.len()),
        (0, 0, 0)
    );
}

#[test]
fn discovery_min_count_leaves_rare_edges_out_of_the_report_only() {
    let dir = tempfile::tempdir().unwrap();
    let report = query(json!({ "min_count": 2 }))
        .run(&snapshot(dir.path(), log()))
        .unwrap();
    let kept: Vec<(&str, &str, u64)> = report
        .edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str(), e.count))
        .collect();
    assert_eq!(kept, [("B", "C", 4), ("A", "B", 3)]);
    assert_eq!(report.nodes.len(), 3);
    assert_eq!(report.variants.len(), 4);
}

#[test]
fn discovery_by_channel_splits_nodes_by_the_events_channel() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = log();
    for (r, channel) in rows.iter_mut().zip(["web", "web", "app"]) {
        r.channel = Some(channel.into());
    }
    let snapshot = snapshot(dir.path(), rows);
    let report = query(json!({ "by_channel": true })).run(&snapshot).unwrap();
    let edges = counts(&report);
    assert_eq!(edges[&("web · A".into(), "web · B".into())], 1);
    assert_eq!(edges[&("web · B".into(), "app · C".into())], 1);
    // Events without a channel are their activity alone.
    assert_eq!(edges[&("A".into(), "B".into())], 2);
    assert_eq!(edges[&("B".into(), "C".into())], 3);
    let names: Vec<&str> = report.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["B", "C", "A", "app · C", "web · A", "web · B"]);
    // Without the option channels play no part.
    let plain = query(json!({})).run(&snapshot).unwrap();
    assert_eq!(
        plain.edges[..2],
        [
            edge("B", "C", &[2 * MIN, 4 * MIN, 5 * MIN, MIN]),
            edge("A", "B", &[MIN, 2 * MIN, 30 * SEC])
        ]
    );
}

#[test]
fn discovery_reads_only_the_time_range() {
    let dir = tempfile::tempdir().unwrap();
    let report = query(json!({ "from": "2026-01-01T00:00:30Z", "to": "2026-01-01T00:02:00Z" }))
        .run(&snapshot(dir.path(), log()))
        .unwrap();
    // Left: p1 B (1 min); p5 B (30 s), C (90 s).
    assert_eq!(report.people, 2);
    assert_eq!(report.edges, vec![edge("B", "C", &[MIN])]);
    assert_eq!(
        report.nodes,
        vec![node("B", 2, 2, 2, 1), node("C", 1, 1, 0, 1)]
    );
}

#[test]
fn bad_discovery_queries_are_refused() {
    let unknown = serde_json::from_value::<DiscoveryQuery>(json!({ "by_chanel": true }));
    assert!(unknown.is_err());
    let dir = tempfile::tempdir().unwrap();
    let snapshot = snapshot(dir.path(), log());
    let error = query(json!({ "events": [] })).run(&snapshot).unwrap_err();
    assert!(error.to_string().starts_with("events"), "{error}");
    let error = query(json!({ "to": "soon" })).run(&snapshot).unwrap_err();
    assert!(error.to_string().starts_with("to"), "{error}");
}

/// People with up to 20 events of six activities, gaps from a millisecond
/// to hours. No two events of a person share a time: pm4py orders those
/// by its own sort, Percorso by arrival. Rows are shuffled before being cut
/// into files, so most people span several files.
fn random_log(seed: u64, people: usize) -> Vec<EventRow> {
    let mut rng = Rng(seed);
    let names = ["A", "B", "C", "D", "E", "F"];
    let mut rows = Vec::new();
    for p in 0..people {
        let mut time = T0 + rng.below(86_400_000) as i64;
        for _ in 0..1 + rng.below(20) {
            rows.push(row(
                &format!("person-{p}"),
                time,
                names[rng.below(6) as usize],
            ));
            time += 1 + (rng.below(4) * rng.below(3 * 3_600_000)) as i64;
        }
    }
    for i in (1..rows.len()).rev() {
        rows.swap(i, rng.below(i as u64 + 1) as usize);
    }
    rows
}

/// Per edge (from, to): count, and mean and median time in seconds.
type EdgeTimes = BTreeMap<(String, String), (u64, f64, f64)>;

fn our_edges(report: &DiscoveryReport) -> EdgeTimes {
    let seconds = |ms: Option<f64>| ms.unwrap() / 1000.0;
    let edge = |e: &EdgeReport| {
        let times = (
            e.count,
            seconds(e.duration.mean_ms),
            seconds(e.duration.median_ms),
        );
        ((e.from.clone(), e.to.clone()), times)
    };
    report.edges.iter().map(edge).collect()
}

fn pm4py_edges(answer: &Value) -> EdgeTimes {
    let edge = |e: &Value| {
        let (name, number) = (
            |i: usize| e[i].as_str().unwrap().to_owned(),
            |i: usize| e[i].as_f64().unwrap(),
        );
        (
            (name(0), name(1)),
            (e[2].as_u64().unwrap(), number(3), number(4)),
        )
    };
    answer["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(edge)
        .collect()
}

/// Start and end activities with their counts, and every variant, sorted.
fn our_cases(report: &DiscoveryReport) -> Value {
    let by = |count: fn(&NodeReport) -> u64| -> Value {
        let nodes = report.nodes.iter().filter(|n| count(n) > 0);
        Value::Object(nodes.map(|n| (n.name.clone(), json!(count(n)))).collect())
    };
    let variants = report
        .variants
        .iter()
        .map(|v| json!([v.activities, v.people]))
        .collect();
    json!({ "start": by(|n| n.starts), "end": by(|n| n.ends), "variants": sorted(variants) })
}

fn pm4py_cases(answer: &Value) -> Value {
    let variants = answer["variants"].as_array().unwrap().clone();
    json!({ "start": answer["start"], "end": answer["end"], "variants": sorted(variants) })
}

fn sorted(mut values: Vec<Value>) -> Vec<Value> {
    values.sort_by_key(|v| v.to_string());
    values
}

#[test]
fn discovery_matches_pm4py_on_a_random_log() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, paths) = snapshot_of(dir.path(), random_log(17, 600), 1_000);
    assert!(paths.len() > 3);
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    for events in [None, Some(vec!["A", "C", "E"])] {
        let label = format!("events {events:?}");
        let report = query(json!({ "events": events, "top_variants": usize::MAX }))
            .run(&snapshot)
            .unwrap();
        let answer = reference_script(
            "reference_dfg.py",
            &json!({ "files": files, "events": events }),
        );
        let (ours, theirs) = (our_edges(&report), pm4py_edges(&answer));
        let count = |edges: &EdgeTimes| -> Vec<((String, String), u64)> {
            edges.iter().map(|(k, v)| (k.clone(), v.0)).collect()
        };
        assert_eq!(count(&ours), count(&theirs), "{label}: edge counts");
        for (edge, &(_, mean, median)) in &ours {
            let (_, their_mean, their_median) = theirs[edge];
            assert!(
                (mean - their_mean).abs() < 1e-6,
                "{label} {edge:?}: mean {mean} s, pm4py {their_mean} s"
            );
            assert!(
                (median - their_median).abs() < 1e-6,
                "{label} {edge:?}: median {median} s, pm4py {their_median} s"
            );
        }
        assert_eq!(
            our_cases(&report),
            pm4py_cases(&answer),
            "{label}: start, end, variants"
        );
        // Not a vacuous match: many people, many edges, repeated journeys.
        assert!(report.people > 500 && ours.len() > 8, "{label}");
        assert!(report.variants[0].people > 1, "{label}");
    }
}
