//! Segments in reports: membership read from the engine's `Segment
//! Entered` / `Segment Exited` events, the same by the reports' rule and by
//! the SQL view, used to filter people and to split them.

use std::sync::Arc;

use percorso_analytics::rows::EventRow;
use percorso_analytics::schema::profile_key;
use percorso_analytics::segments::segment_members;
use percorso_analytics::{DiscoveryQuery, FunnelQuery, Snapshot};
use serde_json::{json, Value};

use crate::fixtures::{breakdown_people, row, snapshot_of};

const MIN: i64 = 60_000;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

/// A change the engine stated: the profile's `transition`-th of `segment`.
fn change(
    person: &str,
    at: i64,
    entered: bool,
    segment: &str,
    generation: u64,
    transition: u32,
) -> EventRow {
    let event = if entered {
        "Segment Entered"
    } else {
        "Segment Exited"
    };
    EventRow {
        properties: Some(
            json!({ "segment": segment, "generation": generation, "profile_id": person })
                .to_string(),
        ),
        message_id: Some(format!(
            "segment:{segment}:{generation}:{person}:{transition}"
        )),
        source_id: "percorso".into(),
        ..row(person, T0 + at, event)
    }
}

/// Everyone views then buys (p6 only views); `pros` was redefined once, so
/// only changes of generation 1 count: p3 and p5 are in it now. p1 and p4
/// were members of generation 0 only, p2 left, p6 is in `other` only.
fn log() -> Vec<EventRow> {
    let mut rows = Vec::new();
    for (i, person) in ["p1", "p2", "p3", "p4", "p5", "p6"].iter().enumerate() {
        rows.push(row(person, i as i64 * MIN, "Viewed"));
        if *person != "p6" {
            rows.push(row(person, (i as i64 + 1) * MIN + 10, "Bought"));
        }
    }
    rows.extend([
        change("p1", 0, true, "pros", 0, 1),
        change("p2", 0, true, "pros", 1, 1),
        change("p2", 5 * MIN, false, "pros", 1, 2),
        change("p3", 0, true, "pros", 0, 1),
        change("p3", MIN, true, "pros", 1, 2),
        change("p4", 0, true, "pros", 0, 1),
        change("p5", 2 * MIN, true, "pros", 1, 1),
        change("p6", 0, true, "other", 0, 1),
    ]);
    // A user's own event of the same name, without a generation, is not
    // a change the engine stated.
    rows.push(EventRow {
        properties: Some(json!({ "segment": "pros" }).to_string()),
        ..row("p6", 9 * MIN, "Segment Entered")
    });
    rows.sort_by_key(|r| (r.profile_key, r.timestamp));
    rows
}

fn snapshot(dir: &std::path::Path) -> Snapshot {
    // Files of 5 rows: people's changes span files.
    snapshot_of(dir, log(), 5).0
}

fn keys(people: &[&str]) -> Vec<u64> {
    let mut keys: Vec<u64> = people.iter().map(|p| profile_key(p)).collect();
    keys.sort();
    keys
}

#[test]
fn members_are_the_last_change_of_the_current_generation_by_both_rules() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = snapshot(dir.path());
    let mut members: Vec<u64> = segment_members(&snapshot, "pros")
        .unwrap()
        .into_iter()
        .collect();
    members.sort();
    assert_eq!(members, keys(&["p3", "p5"]));
    assert!(segment_members(&snapshot, "nobody").unwrap().is_empty());

    let sql = "SELECT segment, profile_id FROM segment_membership ORDER BY 1, 2";
    let rows = tokio::runtime::Runtime::new().unwrap().block_on(async {
        // `pros` is defined in its second generation; `other` was deleted.
        let sources = percorso_analytics::sql::SessionSources {
            profiles: None,
            segments: vec![percorso_analytics::sql_segments::DefinedSegment {
                name: "pros".into(),
                definition: "name: pros".into(),
                created_at: T0,
                generation: 1,
            }],
        };
        let ctx = percorso_analytics::sql::session(Arc::new(snapshot), dir.path(), sources)
            .await
            .unwrap();
        let batches = percorso_analytics::sql::run_sql(&ctx, sql).await.unwrap();
        percorso_analytics::sql::encode(&batches, percorso_analytics::sql::ResultFormat::Json)
            .unwrap()
    });
    let rows: Value = serde_json::from_slice(&rows).unwrap();
    assert_eq!(
        rows,
        json!([
            { "segment": "pros", "profile_id": "p3" },
            { "segment": "pros", "profile_id": "p5" },
        ])
    );
}

#[test]
fn a_segment_filters_the_people_a_report_reads() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = snapshot(dir.path());
    let map = |segment: Option<&str>| {
        let query: DiscoveryQuery =
            serde_json::from_value(json!({ "events": ["Viewed", "Bought"], "segment": segment }))
                .unwrap();
        query.run(&snapshot).unwrap()
    };
    assert_eq!(map(None).people, 6);
    let pros = map(Some("pros"));
    assert_eq!(pros.people, 2);
    assert_eq!(pros.edges.len(), 1);
    assert_eq!(pros.edges[0].count, 2);
}

#[test]
fn a_segment_breakdown_splits_a_funnel_into_members_and_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = snapshot(dir.path());
    let query: FunnelQuery = serde_json::from_value(json!({
        "steps": [{ "event": "Viewed" }, { "event": "Bought" }],
        "window": "1h",
        "breakdown": "segment:pros",
    }))
    .unwrap();
    let report = query.run(&snapshot).unwrap();
    let groups = breakdown_people(&report);
    assert_eq!(
        groups,
        [
            ("not in pros".to_owned(), vec![4, 3]),
            ("pros".to_owned(), vec![2, 2]),
        ]
    );
    let error = serde_json::from_value::<FunnelQuery>(json!({
        "steps": [{ "event": "Viewed" }], "window": "1h", "breakdown": "segment:",
    }))
    .unwrap_err();
    assert!(error.to_string().contains("segment:<name>"), "{error}");
}
