//! Retention and lifecycle against DuckDB on a random log, read from the
//! same Parquet files (`tests/python/reference_retention.py`).

use percorso_analytics::rows::EventRow;
use serde_json::json;

use super::{at, lifecycle, retention};
use crate::fixtures::{reference_script, row, snapshot_of, Rng};

/// People who join on a random day of 40 and come back on random later
/// days; A and B at any time of day, X (neither) now and then.
fn random_log(seed: u64, people: usize) -> Vec<EventRow> {
    let mut rng = Rng(seed);
    let origin = at("2026-01-01T00:00:00Z");
    let names = ["A", "A", "B", "B", "X"];
    let mut rows = Vec::new();
    for p in 0..people {
        let person = format!("person-{p}");
        let joined = rng.below(40);
        for _ in 0..rng.below(12) {
            let day = joined + rng.below(40 - joined);
            let time = origin + (day * 86_400_000 + rng.below(86_400_000)) as i64;
            rows.push(row(&person, time, names[rng.below(5) as usize]));
        }
    }
    rows
}

#[test]
fn retention_and_lifecycle_match_duckdb_on_a_random_log() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, paths) = snapshot_of(dir.path(), random_log(5, 600), 1_500);
    assert!(paths.len() > 1);
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    for (interval, retention_type, cumulative, from, to) in [
        ("day", "recurring", false, "2026-01-06", "2026-02-20"),
        ("day", "first_time", true, "2026-01-03", "2026-01-30"),
        ("week", "recurring", true, "2026-01-01", "2026-02-20"),
        ("month", "recurring", false, "2026-01-01", "2026-03-01"),
    ] {
        let request = json!({
            "start": {"event": "A"}, "return": {"event": "B"}, "interval": interval,
            "periods": 8, "retention_type": retention_type, "cumulative": cumulative,
            "from": from, "to": to,
        });
        let report = retention(request).run(&snapshot).unwrap();
        let expected = reference_script(
            "reference_retention.py",
            &json!({
                "query": "retention", "files": files, "interval": interval,
                "start": "A", "return": "B", "periods": 8,
                "retention_type": retention_type, "cumulative": cumulative,
                "from": from, "to": to,
            }),
        );
        let ours = json!({
            "horizon": report.horizon,
            "cohorts": report.cohorts.iter().map(|c| json!({
                "start": c.start, "size": c.size, "values": c.values,
            })).collect::<Vec<_>>(),
            "aggregate": {"values": report.aggregate.values, "sizes": report.aggregate.sizes},
        });
        assert_eq!(
            ours, expected,
            "{interval} {retention_type} cumulative {cumulative}"
        );
        // Not a vacuous match: people came back.
        assert!(
            report.aggregate.values[1..].iter().any(|&v| v > 0),
            "{interval}"
        );
    }
    for (interval, from, to) in [
        ("day", "2026-01-05", "2026-02-01"),
        ("week", "2026-01-05", "2026-03-01"),
    ] {
        let report = lifecycle(json!({
            "event": {"event": "A"}, "interval": interval, "from": from, "to": to,
        }))
        .run(&snapshot)
        .unwrap();
        let expected = reference_script(
            "reference_retention.py",
            &json!({
                "query": "lifecycle", "files": files, "interval": interval,
                "event": "A", "from": from, "to": to,
            }),
        );
        let ours = serde_json::to_value(&report).unwrap();
        assert_eq!(
            ours["intervals"], expected["intervals"],
            "lifecycle {interval}"
        );
        assert_eq!(ours["horizon"], expected["horizon"]);
    }
}
