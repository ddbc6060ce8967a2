//! The same funnels on the same Parquet files as ClickHouse (chdb,
//! `windowFunnel`) and DuckDB: the counts must be equal.

use percorso_analytics::conditions::EventCondition;
use percorso_analytics::funnel::chain::FunnelMode;
use percorso_analytics::rows::EventRow;
use percorso_analytics::FunnelQuery;
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

fn ours(mode: FunnelMode, snapshot: &percorso_analytics::Snapshot) -> Value {
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

#[test]
fn the_sql_window_funnel_counts_what_the_kernel_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), random_log(7, 1500), 5_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (mode, argument) in [
        (FunnelMode::Default, ""),
        (FunnelMode::StrictOrder, "'strict_order', "),
        (FunnelMode::StrictDeduplication, "'strict_deduplication', "),
    ] {
        let conditions: Vec<String> = STEPS.iter().map(|s| format!("event = '{s}'")).collect();
        let sql = format!(
            "SELECT level, count(*) AS people FROM (SELECT profile_id, \
             window_funnel({WINDOW_MS}, {argument}timestamp, {}) AS level FROM events GROUP BY profile_id) \
             WHERE level > 0 GROUP BY level ORDER BY level",
            conditions.join(", ")
        );
        let rows = runtime.block_on(async {
            let ctx = percorso_analytics::sql::session(&snapshot, dir.path(), Default::default())
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
        assert_eq!(Value::Object(levels), ours(mode, &snapshot), "{mode:?}");
    }
}
