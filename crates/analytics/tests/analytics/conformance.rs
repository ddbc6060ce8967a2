//! Actual against designed on a hand-checked log.

use percorso_analytics::rows::EventRow;
use percorso_analytics::ConformanceQuery;
use serde_json::json;

use crate::fixtures::{row, snapshot_of};

const HOUR: i64 = 3_600_000;

/// c1 follows the design; c2 loops back from the cart; c3 skips the cart
/// and stalls at checkout; c4 starts at the cart; c5 browses and stalls;
/// c6's late unrelated event sets the end of the data 30 days on.
fn log() -> Vec<EventRow> {
    let person = |id: &str, events: &[&str]| -> Vec<EventRow> {
        events
            .iter()
            .enumerate()
            .map(|(i, e)| row(id, i as i64 * HOUR, e))
            .collect()
    };
    let mut rows = Vec::new();
    rows.extend(person(
        "c1",
        &[
            "Product Viewed",
            "Product Added",
            "Checkout Started",
            "Order Completed",
        ],
    ));
    rows.extend(person(
        "c2",
        &[
            "Product Viewed",
            "Product Added",
            "Product Viewed",
            "Product Added",
            "Checkout Started",
            "Order Completed",
        ],
    ));
    rows.extend(person(
        "c3",
        &["Product Viewed", "Page Viewed", "Checkout Started"],
    ));
    rows.extend(person(
        "c4",
        &["Product Added", "Checkout Started", "Order Completed"],
    ));
    rows.extend(person("c5", &["Product Viewed"]));
    rows.push(row("c6", 30 * 24 * HOUR, "Something Else"));
    rows
}

fn design() -> ConformanceQuery {
    serde_json::from_value(json!({
        "stages": [
            { "name": "Browse", "events": [{ "event": "Product Viewed" }] },
            { "name": "Cart", "events": [{ "event": "Product Added" }] },
            { "name": "Checkout", "events": [{ "event": "Checkout Started" }] },
            { "name": "Paid", "events": [{ "event": "Order Completed" }] },
        ],
        "stall_after": "7d",
    }))
    .unwrap()
}

#[test]
fn conformance_loops_skips_stalls_and_time_per_stage() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), log(), 5);
    let report = design().run(&snapshot).unwrap();
    assert_eq!(report.people, 5);
    assert_eq!(report.conforming, 2, "c1 and c5");
    assert_eq!(report.completed, 3, "c1, c2, c4");
    assert_eq!(report.conforming_completed, 1);
    assert_eq!((report.loops, report.skips), (1, 1));
    assert_eq!(report.late_starts, [("Cart".to_owned(), 1)]);
    let stalled: Vec<u64> = report.stages.iter().map(|s| s.stalled).collect();
    assert_eq!(stalled, [1, 0, 1, 0]);
    let reached: Vec<u64> = report.stages.iter().map(|s| s.reached).collect();
    assert_eq!(reached, [4, 3, 4, 3]);
    // Browse → next stage: c1 1h, c2 1h and 1h, c3 2h (the page view is no stage).
    let browse = &report.stages[0].time_in_stage;
    assert_eq!(browse.count, 4);
    assert_eq!(browse.mean_ms, Some(1.25 * HOUR as f64));
    let kinds: Vec<(&str, &str, &str, u64, u64)> = report
        .deviations
        .iter()
        .map(|d| {
            (
                d.from.as_str(),
                d.to.as_str(),
                d.kind,
                d.people,
                d.first_for,
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("Browse", "Checkout", "skip", 1, 1),
            ("Cart", "Browse", "loop", 1, 1)
        ]
    );
    let mut examples: Vec<&str> = report
        .examples
        .iter()
        .map(|e| e.profile_id.as_str())
        .collect();
    examples.sort();
    assert_eq!(examples, ["c2", "c3", "c4"]);
}

#[test]
fn allowed_transitions_and_one_person_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), log(), 100);
    let mut q = design();
    q.transitions = vec![("Browse".into(), "Checkout".into())];
    let report = q.run(&snapshot).unwrap();
    assert_eq!(report.conforming, 3, "c3's skip is now allowed");

    let mut q = design();
    q.profile_id = Some("c2".into());
    let report = q.run(&snapshot).unwrap();
    assert_eq!(report.people, 1);
    assert_eq!(
        report.examples[0].stages,
        ["Browse", "Cart", "Browse", "Cart", "Checkout", "Paid"]
    );

    let mut q = design();
    q.transitions = vec![("Browse".into(), "Nowhere".into())];
    let err = q.run(&snapshot).unwrap_err().to_string();
    assert_eq!(err, "transitions[0]: no stage named 'Nowhere'");
}
