//! Paths: sessions, anchors and repeats on a hand-checked log, and the
//! Sankey links DuckDB window functions give on a random one.

use std::collections::BTreeMap;

use percorso_analytics::conditions::EventCondition;
use percorso_analytics::rows::EventRow;
use percorso_analytics::PathsQuery;
use serde_json::{json, Value};

use crate::fixtures::{reference, row, snapshot_of, Rng};

const MIN: i64 = 60_000;

fn query() -> PathsQuery {
    serde_json::from_value(json!({ "steps": 3 })).unwrap()
}

/// p1: A B B C | (2 h later) A D;  p2: A C;  p3: B A C.
fn log() -> Vec<EventRow> {
    vec![
        row("p1", 0, "A"),
        row("p1", MIN, "B"),
        row("p1", 2 * MIN, "B"),
        row("p1", 3 * MIN, "C"),
        row("p1", 120 * MIN, "A"),
        row("p1", 121 * MIN, "D"),
        row("p2", 0, "A"),
        row("p2", 5 * MIN, "C"),
        row("p3", 0, "B"),
        row("p3", MIN, "A"),
        row("p3", 2 * MIN, "C"),
    ]
}

fn links(report: &percorso_analytics::PathsReport) -> BTreeMap<String, u64> {
    report
        .links
        .iter()
        .map(|l| (format!("{} -> {}", l.source, l.target), l.sessions))
        .collect()
}

#[test]
fn sessions_collapse_repeats_and_start_at_their_first_event() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), log(), 4);
    let report = query().run(&snapshot).unwrap();
    assert_eq!(report.sessions, 4);
    let expected: BTreeMap<String, u64> = [
        ("1_A -> 2_B", 1),
        ("2_B -> 3_C", 1),
        ("1_A -> 2_D", 1),
        ("1_A -> 2_C", 1),
        ("1_B -> 2_A", 1),
        ("2_A -> 3_C", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(links(&report), expected);
    let a_b = report
        .links
        .iter()
        .find(|l| l.source == "1_A" && l.target == "2_B")
        .unwrap();
    assert_eq!(a_b.duration.median_ms, Some(MIN as f64));
    assert_eq!(report.paths[0].sessions, 1);
}

#[test]
fn anchors_cut_paths_from_a_start_or_up_to_an_end() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), log(), 100);
    let mut q = query();
    q.start = Some(EventCondition::named("A"));
    q.steps = 2;
    let report = q.run(&snapshot).unwrap();
    // Every session has an A: p1 twice, p2, p3 (from its A on).
    assert_eq!(report.sessions, 4);
    assert_eq!(links(&report)["1_A -> 2_C"], 2);

    let mut q = query();
    q.end = Some(EventCondition::named("C"));
    let report = q.run(&snapshot).unwrap();
    assert_eq!(report.sessions, 3);
    let paths: Vec<Vec<String>> = report.paths.iter().map(|p| p.events.clone()).collect();
    assert!(
        paths.contains(&vec!["A".into(), "B".into(), "C".into()]),
        "{paths:?}"
    );
    assert!(
        paths.contains(&vec!["B".into(), "A".into(), "C".into()]),
        "{paths:?}"
    );

    let mut q = query();
    q.exclude = vec!["B".into()];
    let report = q.run(&snapshot).unwrap();
    assert_eq!(links(&report)["1_A -> 2_C"], 3, "{:?}", links(&report));
}

#[test]
fn bad_paths_queries_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), log(), 100);
    let mut q = query();
    q.steps = 1;
    assert!(q
        .run(&snapshot)
        .unwrap_err()
        .to_string()
        .starts_with("steps"));
    let mut q = query();
    q.session_gap = "soon".into();
    assert!(q
        .run(&snapshot)
        .unwrap_err()
        .to_string()
        .starts_with("session_gap"));
}

#[test]
fn links_match_duckdb_window_functions() {
    let mut rng = Rng(99);
    let mut next = move |n: u64| rng.below(n);
    let names = ["A", "B", "C", "D", "E"];
    let mut rows = Vec::new();
    for p in 0..800 {
        let mut time = 0;
        for _ in 0..next(25) {
            // Gaps from seconds to hours; distinct times within a person.
            time += 1 + next(3) as i64 * next(40 * MIN as u64) as i64;
            rows.push(row(&format!("person-{p}"), time, names[next(5) as usize]));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, paths) = snapshot_of(dir.path(), rows, 3_000);
    let mut q = query();
    q.steps = 4;
    let report = q.run(&snapshot).unwrap();
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let expected = reference(&json!({
        "engine": "duckdb", "query": "paths", "files": files, "gap_ms": 30 * MIN, "steps": 4,
    }));
    let ours: serde_json::Map<String, Value> = links(&report)
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    assert_eq!(Value::Object(ours), expected["links"]);
}
