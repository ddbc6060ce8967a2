//! The same funnels on the same Parquet files as ClickHouse (chdb,
//! `windowFunnel`) and DuckDB: the counts must be equal.

use std::path::Path;
use std::sync::Arc;

use percorso_analytics::conditions::EventCondition;
use percorso_analytics::funnel::chain::FunnelMode;
use percorso_analytics::rows::EventRow;
use percorso_analytics::{FunnelQuery, Snapshot};
use serde_json::{json, Value};

use crate::fixtures::{reference, row, snapshot_of, Rng};

const STEPS: [&str; 4] = ["A", "B", "C", "D"];
const WINDOW_MS: i64 = 15 * 60_000;

/// People with up to 30 events each over two hours, on a 10-second grid so
/// that equal timestamps are common; `X` matches no step.
fn random_log(seed: u64, people: usize) -> Vec<EventRow> {
    let mut rng = Rng(seed);
    let names = ["A", "B", "C", "D", "X"];
    let mut rows = Vec::new();
    for p in 0..people {
        let person = format!("person-{p}");
        for _ in 0..rng.below(30) {
            let time = rng.below(720) as i64 * 10_000;
            rows.push(row(&person, time, names[rng.below(5) as usize]));
        }
    }
    rows
}

fn ours(mode: FunnelMode, snapshot: &Snapshot) -> Value {
    let report = FunnelQuery {
        steps: STEPS.map(EventCondition::named).to_vec(),
        window: WINDOW_MS.to_string(),
        mode,
        exclusions: Vec::new(),
        breakdown: None,
        range: Default::default(),
        dropped_at: None,
        people_limit: 0,
        convert_bins: 10,
    }
    .run(snapshot)
    .unwrap();
    // People whose furthest step is k, as windowFunnel returns it.
    let mut levels = serde_json::Map::new();
    for (k, step) in report.steps.iter().enumerate() {
        if step.dropped > 0 {
            levels.insert((k + 1).to_string(), json!(step.dropped));
        }
    }
    Value::Object(levels)
}

#[test]
fn every_mode_counts_what_clickhouse_window_funnel_counts() {
    let dir = tempfile::tempdir().unwrap();
    // Several files, so a person's events are merged back across files.
    let (snapshot, paths) = snapshot_of(dir.path(), random_log(7, 3000), 9_000);
    assert!(paths.len() > 2);
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    for (mode, name) in [
        (FunnelMode::Default, "default"),
        (FunnelMode::StrictOrder, "strict_order"),
        (FunnelMode::StrictDeduplication, "strict_deduplication"),
        (FunnelMode::StrictIncrease, "strict_increase"),
    ] {
        let expected = reference(&json!({
            "engine": "chdb", "query": "funnel", "files": files,
            "window_ms": WINDOW_MS, "mode": name, "steps": STEPS,
        }));
        assert_eq!(ours(mode, &snapshot), expected["levels"], "mode {name}");
    }
}

#[test]
fn the_default_mode_counts_what_duckdb_asof_joins_count() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, paths) = snapshot_of(dir.path(), random_log(11, 2000), 100_000);
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let expected = reference(&json!({
        "engine": "duckdb", "query": "funnel", "files": files,
        "window_ms": WINDOW_MS, "mode": "default", "steps": STEPS,
    }));
    assert_eq!(ours(FunnelMode::Default, &snapshot), expected["levels"]);
}

/// People whose furthest step is k, as the SQL `window_funnel` counts
/// them in `mode` (given as its name, or left out for the default mode).
fn sql_levels(snapshot: &Arc<Snapshot>, dir: &Path, mode: FunnelMode) -> Value {
    let argument = match mode {
        FunnelMode::Default => String::new(),
        named => format!("'{}', ", json!(named).as_str().unwrap()),
    };
    let conditions: Vec<String> = STEPS.iter().map(|s| format!("event = '{s}'")).collect();
    let sql = format!(
        "SELECT level, count(*) AS people FROM (SELECT profile_id, \
         window_funnel({WINDOW_MS}, {argument}timestamp, {}) AS level FROM events GROUP BY profile_id) \
         WHERE level > 0 GROUP BY level ORDER BY level",
        conditions.join(", ")
    );
    let rows = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let ctx = percorso_analytics::sql::session(Arc::clone(snapshot), dir, Default::default())
            .await
            .unwrap();
        let batches = percorso_analytics::sql::run_sql(&ctx, &sql).await.unwrap();
        percorso_analytics::sql::encode(&batches, percorso_analytics::sql::ResultFormat::Json)
            .unwrap()
    });
    let rows: Vec<Value> = serde_json::from_slice(&rows).unwrap();
    let levels: serde_json::Map<String, Value> = rows
        .iter()
        .map(|r| (r["level"].to_string(), r["people"].clone()))
        .collect();
    Value::Object(levels)
}

const MODES: [FunnelMode; 5] = [
    FunnelMode::Default,
    FunnelMode::StrictOrder,
    FunnelMode::StrictDeduplication,
    FunnelMode::StrictIncrease,
    FunnelMode::Unordered,
];

#[test]
fn the_sql_window_funnel_counts_what_the_kernel_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), random_log(7, 1500), 5_000);
    let snapshot = Arc::new(snapshot);
    for mode in MODES {
        assert_eq!(
            sql_levels(&snapshot, dir.path(), mode),
            ours(mode, &snapshot),
            "{mode:?}"
        );
    }
}

/// One person per rule on which the modes disagree (a minute apart unless
/// said otherwise, all within the window; `X` matches no step).
fn log_the_modes_split() -> Vec<EventRow> {
    const MIN: i64 = 60_000;
    let person = |name: &str, events: &[(i64, &str)]| -> Vec<EventRow> {
        events.iter().map(|&(t, e)| row(name, t * MIN, e)).collect()
    };
    [
        // A and B at the same millisecond: a chain in step order, but B is
        // not strictly later than A.
        person("tied", &[(0, "A"), (0, "B"), (1, "C")]),
        // Every step, backwards.
        person("backwards", &[(0, "D"), (1, "C"), (2, "B"), (3, "A")]),
        // B before A, then C.
        person("swapped", &[(0, "B"), (1, "A"), (2, "C")]),
        // An event of no step between A and B.
        person("interrupted", &[(0, "A"), (1, "X"), (2, "B")]),
        // B reached twice.
        person("repeated", &[(0, "A"), (1, "B"), (2, "B"), (3, "C")]),
        // Never did step 1: only unordered counts them.
        person("no_start", &[(0, "C")]),
        person("in_order", &[(0, "A"), (1, "B"), (2, "C"), (3, "D")]),
    ]
    .concat()
}

#[test]
fn the_sql_window_funnel_counts_what_the_kernel_counts_where_the_modes_differ() {
    let dir = tempfile::tempdir().unwrap();
    // Files of 4 rows: people's events are merged back across files.
    let (snapshot, _) = snapshot_of(dir.path(), log_the_modes_split(), 4);
    let snapshot = Arc::new(snapshot);
    // People per furthest step, in the order of `MODES`, worked out by
    // hand from the rules of `funnel::chain`.
    let expected = [
        // default: tied 3, backwards 1, swapped 1, interrupted 2, repeated 3, in_order 4
        json!({"1": 2, "2": 1, "3": 2, "4": 1}),
        // strict_order: as default, but interrupted stops at 1
        json!({"1": 3, "3": 2, "4": 1}),
        // strict_deduplication: as default, but repeated stops at 2
        json!({"1": 2, "2": 2, "3": 1, "4": 1}),
        // strict_increase: as default, but tied stops at 1
        json!({"1": 3, "2": 1, "3": 1, "4": 1}),
        // unordered: tied 3, backwards 4, swapped 3, interrupted 2, repeated 3,
        // no_start 1, in_order 4
        json!({"1": 1, "2": 1, "3": 3, "4": 2}),
    ];
    for (mode, expected) in MODES.into_iter().zip(&expected) {
        let kernel = ours(mode, &snapshot);
        assert_eq!(&kernel, expected, "kernel, {mode:?}");
        assert_eq!(
            sql_levels(&snapshot, dir.path(), mode),
            kernel,
            "SQL, {mode:?}"
        );
    }
    // No two modes agree on this log, so no mode can pass as another.
    for (i, a) in expected.iter().enumerate() {
        assert!(expected[i + 1..].iter().all(|b| a != b), "{:?}", MODES[i]);
    }
}
