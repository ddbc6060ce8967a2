//! Lifecycle statuses on a hand-checked log.

use percorso_analytics::rows::EventRow;
use percorso_analytics::LifecycleReport;
use serde_json::json;

use super::{at, lifecycle, snapshots};
use crate::fixtures::row;

/// Event A over days D0 = 2026-03-01 … D5; the newest event is on D6.
fn lifecycle_log() -> Vec<EventRow> {
    let day = |d: i64, hour: i64| at("2026-03-01T00:00:00Z") + d * 86_400_000 + hour * 3_600_000;
    vec![
        row("l1", day(0, 9), "A"),
        row("l1", day(1, 9), "A"),
        row("l1", day(1, 20), "A"),
        row("l1", day(2, 9), "A"),
        row("l1", day(3, 9), "A"),
        row("l2", day(0, 9), "A"),
        row("l2", day(3, 23), "A"),
        row("l3", day(2, 0), "A"),
        row("l3", day(5, 9), "A"),
        row("l4", day(1, 9), "A"),
        row("l5", day(4, 9), "A"),
        row("l5", day(5, 9), "A"),
        row("l5", day(5, 10), "X"),
        row("l6", day(6, 1), "X"),
        row("l7", day(0, 9), "A"),
        row("l7", day(5, 9), "A"),
    ]
}

/// (start, new, returning, resurrecting, dormant) per interval.
fn statuses(report: &LifecycleReport) -> Vec<(&str, u64, u64, u64, i64)> {
    report
        .intervals
        .iter()
        .map(|r| {
            (
                r.start.as_str(),
                r.new,
                r.returning,
                r.resurrecting,
                r.dormant,
            )
        })
        .collect()
}

#[test]
fn lifecycle_sorts_people_into_each_status_by_hand() {
    for (_dir, snapshot) in snapshots(&lifecycle_log()) {
        let report = lifecycle(json!({
            "event": {"event": "A"}, "from": "2026-03-03", "to": "2026-03-07",
        }))
        .run(&snapshot)
        .unwrap();
        // D2: l3 new, l1 returning, l4 (active D1) dormant. D3: l1
        // returning, l2 resurrecting, l3 dormant. D4: l5 new, l1 and l2
        // dormant. D5: l5 returning; l3 and l7 (whose first A was before
        // the range) resurrecting.
        assert_eq!(
            statuses(&report),
            [
                ("2026-03-03", 1, 1, 0, -1),
                ("2026-03-04", 0, 1, 1, -1),
                ("2026-03-05", 1, 0, 0, -2),
                ("2026-03-06", 0, 1, 2, 0),
            ]
        );
        assert_eq!(report.horizon.as_deref(), Some("2026-03-07"));
    }
}

#[test]
fn lifecycle_with_open_ends_runs_from_the_first_activity_to_the_horizon() {
    let (_dir, snapshot) = snapshots(&lifecycle_log()).remove(0);
    let report = lifecycle(json!({"event": {"event": "A"}}))
        .run(&snapshot)
        .unwrap();
    let rows = statuses(&report);
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[0], ("2026-03-01", 3, 0, 0, 0));
    assert_eq!(rows[1], ("2026-03-02", 1, 1, 0, -2));
    assert_eq!(rows[6], ("2026-03-07", 0, 0, 0, -3));
}
