//! The reports as SQL table functions: each function's rows are its
//! report's main table, and a bad argument is a plan error naming it.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Float64Type, UInt64Type};
use percorso_analytics::rows::EventRow;
use percorso_analytics::sql::{run_sql, session};
use percorso_analytics::{
    AnalyticsError, ConformanceQuery, DiscoveryQuery, FunnelQuery, LifecycleQuery, PathsQuery,
    RetentionQuery, ScoresQuery, Snapshot,
};
use serde_json::{json, Value};

use crate::fixtures::{row, snapshot_of};

const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z, a Thursday.
const T0: i64 = 1_767_225_600_000;

/// The journey-map log (p1: A B C; p2: A C; p3: A B B C; p4: B C; p5: A
/// B C, faster), p5 on the app and the rest on the web, and p6: A, then A
/// B two days later.
fn log() -> Vec<EventRow> {
    let mut rows = crate::discovery::log();
    rows.extend([
        row("p6", T0, "A"),
        row("p6", T0 + 2 * DAY, "A"),
        row("p6", T0 + 2 * DAY + MIN, "B"),
    ]);
    for r in &mut rows {
        r.channel = Some(if r.profile_id == "p5" { "app" } else { "web" }.into());
    }
    rows
}

/// The statement's rows in one batch (the session has the report functions).
fn sql(
    snapshot: &Arc<Snapshot>,
    dir: &Path,
    statement: &str,
) -> Result<RecordBatch, AnalyticsError> {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let ctx = session(Arc::clone(snapshot), dir, Default::default()).await?;
        let batches = run_sql(&ctx, statement).await?;
        let schema = batches.first().expect("a batch").schema();
        Ok(concat_batches(&schema, &batches)?)
    })
}

fn query<Q: serde::de::DeserializeOwned>(json: &Value) -> Q {
    serde_json::from_value(json.clone()).unwrap()
}

/// A column as text (dates as ISO dates), nulls as `None`.
fn texts(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let column = cast(batch.column_by_name(name).unwrap(), &DataType::Utf8).unwrap();
    let column = column.as_string::<i32>();
    (0..column.len())
        .map(|i| column.is_valid(i).then(|| column.value(i).to_owned()))
        .collect()
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<String> {
    texts(batch, name).into_iter().map(Option::unwrap).collect()
}

fn counts(batch: &RecordBatch, name: &str) -> Vec<u64> {
    let column = batch.column_by_name(name).unwrap();
    column.as_primitive::<UInt64Type>().values().to_vec()
}

fn floats(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    let column = batch.column_by_name(name).unwrap();
    column.as_primitive::<Float64Type>().iter().collect()
}

#[test]
fn a_session_shares_the_callers_snapshot_while_it_lives() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = Arc::new(snapshot_of(dir.path(), log(), 4).0);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ctx = runtime
        .block_on(session(
            Arc::clone(&snapshot),
            dir.path(),
            Default::default(),
        ))
        .unwrap();
    // The report functions hold the caller's snapshot, not a copy of it.
    assert!(Arc::strong_count(&snapshot) > 1);
    drop(ctx);
    assert_eq!(Arc::strong_count(&snapshot), 1);
}

#[test]
fn journey_map_rows_are_the_reports_edges() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = Arc::new(snapshot_of(dir.path(), log(), 4).0);
    let q = json!({ "events": ["A", "B", "C"] });
    let report = query::<DiscoveryQuery>(&q).run(&snapshot).unwrap();
    let statement =
        format!("SELECT * FROM journey_map('{q}') ORDER BY count DESC, from_node, to_node");
    let rows = sql(&snapshot, dir.path(), &statement).unwrap();
    assert_eq!(rows.num_rows(), report.edges.len());
    assert!(rows.num_rows() >= 4);
    let edges = &report.edges;
    let from: Vec<&str> = edges.iter().map(|e| e.from.as_str()).collect();
    let to: Vec<&str> = edges.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(strings(&rows, "from_node"), from);
    assert_eq!(strings(&rows, "to_node"), to);
    let count: Vec<u64> = edges.iter().map(|e| e.count).collect();
    assert_eq!(counts(&rows, "count"), count);
    let times = |f: fn(&percorso_analytics::summary::Durations) -> Option<f64>| -> Vec<_> {
        edges.iter().map(|e| f(&e.duration)).collect()
    };
    assert_eq!(floats(&rows, "mean_ms"), times(|d| d.mean_ms));
    assert_eq!(floats(&rows, "median_ms"), times(|d| d.median_ms));
    assert_eq!(floats(&rows, "p90_ms"), times(|d| d.p90_ms));
}

#[test]
fn funnel_rows_are_the_reports_steps_and_breakdown() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = Arc::new(snapshot_of(dir.path(), log(), 5).0);
    let q =
        json!({ "steps": [{ "event": "A" }, { "event": "B" }, { "event": "C" }], "window": "10m" });
    let report = query::<FunnelQuery>(&q).run(&snapshot).unwrap();
    let rows = sql(
        &snapshot,
        dir.path(),
        &format!("SELECT * FROM funnel('{q}') ORDER BY step"),
    )
    .unwrap();
    assert_eq!(texts(&rows, "breakdown"), [None, None, None]);
    assert_eq!(counts(&rows, "step"), [1, 2, 3]);
    assert_eq!(strings(&rows, "event"), ["A", "B", "C"]);
    let people: Vec<u64> = report.steps.iter().map(|s| s.people).collect();
    assert_eq!(
        people,
        [5, 4, 3],
        "p1, p3, p5 convert; p2 stops at A, p6 at B"
    );
    assert_eq!(counts(&rows, "people"), people);
    let dropped: Vec<u64> = report.steps.iter().map(|s| s.dropped).collect();
    assert_eq!(counts(&rows, "dropped"), dropped);
    let share = |f: fn(&percorso_analytics::funnel::StepReport) -> f64| -> Vec<_> {
        report.steps.iter().map(|s| Some(f(s))).collect()
    };
    assert_eq!(
        floats(&rows, "conversion_from_start"),
        share(|s| s.conversion_from_start)
    );
    assert_eq!(
        floats(&rows, "conversion_from_previous"),
        share(|s| s.conversion_from_previous)
    );
    let medians: Vec<_> = report
        .steps
        .iter()
        .map(|s| s.time_from_previous.median_ms)
        .collect();
    assert_eq!(medians[0], None);
    assert!(medians[1].is_some());
    assert_eq!(floats(&rows, "median_ms_from_previous"), medians);

    // By channel: a row per (value, step), in the report's order.
    let q = json!({ "steps": [{ "event": "A" }, { "event": "B" }], "breakdown": "channel" });
    let report = query::<FunnelQuery>(&q).run(&snapshot).unwrap();
    let rows = sql(
        &snapshot,
        dir.path(),
        &format!("SELECT * FROM funnel('{q}')"),
    )
    .unwrap();
    let expected: Vec<(Option<String>, u64, u64)> = report
        .breakdown
        .iter()
        .flat_map(|g| {
            g.steps
                .iter()
                .map(|s| (Some(g.value.clone()), s.step as u64, s.people))
        })
        .collect();
    let got: Vec<(Option<String>, u64, u64)> = texts(&rows, "breakdown")
        .into_iter()
        .zip(counts(&rows, "step"))
        .zip(counts(&rows, "people"))
        .map(|((b, s), p)| (b, s, p))
        .collect();
    assert_eq!(got.len(), 4, "web and app, two steps each");
    assert_eq!(got, expected);
}

#[test]
fn paths_rows_are_the_reports_links() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = Arc::new(snapshot_of(dir.path(), log(), 3).0);
    let q = json!({ "steps": 3 });
    let report = query::<PathsQuery>(&q).run(&snapshot).unwrap();
    let rows = sql(
        &snapshot,
        dir.path(),
        &format!("SELECT * FROM paths('{q}') ORDER BY sessions DESC, source, target"),
    )
    .unwrap();
    let links = &report.links;
    assert_eq!(rows.num_rows(), links.len());
    let source: Vec<&str> = links.iter().map(|l| l.source.as_str()).collect();
    let target: Vec<&str> = links.iter().map(|l| l.target.as_str()).collect();
    let sessions: Vec<u64> = links.iter().map(|l| l.sessions).collect();
    assert_eq!(strings(&rows, "source"), source);
    assert_eq!(strings(&rows, "target"), target);
    assert_eq!(counts(&rows, "sessions"), sessions);
    let medians: Vec<_> = links.iter().map(|l| l.duration.median_ms).collect();
    assert_eq!(floats(&rows, "median_ms"), medians);
    // Ids are `{step}_{event}`: the step and events are split out.
    for ((id, step), event) in strings(&rows, "source")
        .iter()
        .zip(counts(&rows, "step"))
        .zip(strings(&rows, "source_event"))
    {
        assert_eq!(*id, format!("{step}_{event}"));
    }
    let targets = strings(&rows, "target_event");
    for (id, event) in strings(&rows, "target").iter().zip(&targets) {
        assert!(id.ends_with(&format!("_{event}")), "{id} {event}");
    }
    let first =
        "SELECT sessions FROM paths('{\"steps\": 3}') WHERE source = '1_A' AND target = '2_B'";
    assert_eq!(
        counts(&sql(&snapshot, dir.path(), first).unwrap(), "sessions"),
        [4]
    );
}

#[test]
fn retention_rows_are_the_reports_cohorts_and_add_up_to_its_aggregate() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = Arc::new(snapshot_of(dir.path(), log(), 4).0);
    let q = json!({ "start": { "event": "A" }, "return": { "event": "B" }, "periods": 3 });
    let report = query::<RetentionQuery>(&q).run(&snapshot).unwrap();
    let rows = sql(
        &snapshot,
        dir.path(),
        &format!("SELECT * FROM retention('{q}') ORDER BY cohort, period"),
    )
    .unwrap();
    assert_eq!(
        rows.schema().field_with_name("cohort").unwrap().data_type(),
        &DataType::Date32
    );
    let mut expected = Vec::new();
    for c in &report.cohorts {
        for (k, (&people, &rate)) in c.values.iter().zip(&c.rates).enumerate() {
            expected.push((c.start.clone(), c.size, k as u64, people, Some(rate)));
        }
    }
    assert_eq!(report.cohorts[0].start, "2026-01-01");
    assert_eq!(report.cohorts[0].values, [5, 0, 1], "p6 came back on day 2");
    let got: Vec<_> = (0..rows.num_rows())
        .map(|i| {
            (
                strings(&rows, "cohort")[i].clone(),
                counts(&rows, "cohort_size")[i],
                counts(&rows, "period")[i],
                counts(&rows, "people")[i],
                floats(&rows, "rate")[i],
            )
        })
        .collect();
    assert_eq!(got, expected);

    let by_period = format!(
        "SELECT period, sum(people) AS people, sum(cohort_size) AS size, \
         CAST(sum(people) AS DOUBLE) / sum(cohort_size) AS rate \
         FROM retention('{q}') GROUP BY period ORDER BY period"
    );
    let sums = sql(&snapshot, dir.path(), &by_period).unwrap();
    assert_eq!(counts(&sums, "people"), report.aggregate.values);
    assert_eq!(counts(&sums, "size"), report.aggregate.sizes);
    let rates: Vec<_> = report.aggregate.rates.iter().copied().map(Some).collect();
    assert_eq!(floats(&sums, "rate"), rates);
    assert_eq!(
        report.aggregate.sizes,
        [6, 5, 5],
        "three cohorts, the last two cut"
    );
}

#[test]
fn lifecycle_conformance_and_scores_flatten_their_reports() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = Arc::new(snapshot_of(dir.path(), log(), 4).0);

    let q = json!({ "event": { "event": "A" } });
    let report = query::<LifecycleQuery>(&q).run(&snapshot).unwrap();
    let statement = format!(
        "SELECT CAST(interval_start AS VARCHAR) AS day, status, people FROM lifecycle('{q}')"
    );
    let rows = sql(&snapshot, dir.path(), &statement).unwrap();
    let mut expected = Vec::new();
    for r in &report.intervals {
        expected.push((r.start.clone(), "new".to_owned(), r.new as i64));
        expected.push((r.start.clone(), "returning".to_owned(), r.returning as i64));
        expected.push((
            r.start.clone(),
            "resurrecting".to_owned(),
            r.resurrecting as i64,
        ));
        expected.push((r.start.clone(), "dormant".to_owned(), r.dormant));
    }
    let people = rows.column_by_name("people").unwrap();
    let people = people
        .as_primitive::<arrow::datatypes::Int64Type>()
        .values();
    let got: Vec<_> = (0..rows.num_rows())
        .map(|i| {
            (
                strings(&rows, "day")[i].clone(),
                strings(&rows, "status")[i].clone(),
                people[i],
            )
        })
        .collect();
    assert_eq!(got, expected);
    let day = |d: &str, status: &str, n: i64| (d.to_owned(), status.to_owned(), n);
    assert!(got.contains(&day("2026-01-01", "new", 5)), "{got:?}");
    assert!(got.contains(&day("2026-01-02", "dormant", -5)), "{got:?}");
    assert!(
        got.contains(&day("2026-01-03", "resurrecting", 1)),
        "p6: {got:?}"
    );

    let q = json!({ "stages": [
        { "name": "Start", "events": [{ "event": "A" }] },
        { "name": "Middle", "events": [{ "event": "B" }] },
        { "name": "End", "events": [{ "event": "C" }] },
    ] });
    let report = query::<ConformanceQuery>(&q).run(&snapshot).unwrap();
    let rows = sql(
        &snapshot,
        dir.path(),
        &format!("SELECT * FROM conformance('{q}')"),
    )
    .unwrap();
    assert_eq!(counts(&rows, "stage_index"), [1, 2, 3]);
    assert_eq!(strings(&rows, "stage"), ["Start", "Middle", "End"]);
    let reached: Vec<u64> = report.stages.iter().map(|s| s.reached).collect();
    assert_eq!(counts(&rows, "reached"), reached);
    assert_eq!(counts(&rows, "late_starts"), [0, 1, 0], "p4 starts at B");
    assert_eq!(counts(&rows, "first_deviations"), [1, 0, 0], "p2 skips B");

    let q = json!({ "start": { "event": "A" }, "complete": { "event": "C" }, "window": "1d" });
    let report = query::<ScoresQuery>(&q).run(&snapshot).unwrap();
    let statement = format!(
        "SELECT metric, value FROM journey_scores('{q}') \
         WHERE section = 'period' AND group_value IS NULL AND metric IN ('instances', 'completion_rate')"
    );
    let rows = sql(&snapshot, dir.path(), &statement).unwrap();
    assert_eq!(strings(&rows, "metric"), ["instances", "completion_rate"]);
    let p = &report.period;
    assert_eq!(
        floats(&rows, "value"),
        [Some(p.instances as f64), Some(p.completion_rate)]
    );
}

#[test]
fn every_function_has_its_documented_columns() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = Arc::new(snapshot_of(dir.path(), log(), 100).0);
    let a = r#"{"event": "A"}"#;
    for (call, columns) in [
        (
            r#"funnel('{"steps": [{"event": "A"}]}')"#.to_owned(),
            "breakdown step event people conversion_from_start conversion_from_previous dropped \
             mean_ms_from_previous median_ms_from_previous p90_ms_from_previous",
        ),
        (
            "paths('{}')".to_owned(),
            "step source target source_event target_event sessions mean_ms median_ms p90_ms",
        ),
        ("journey_map('{}')".to_owned(), "from_node to_node count mean_ms median_ms p90_ms"),
        (
            r#"conformance('{"stages": [{"name": "x", "events": [{"event": "A"}]}, {"name": "y", "events": [{"event": "B"}]}]}')"#.to_owned(),
            "stage_index stage reached stalled late_starts first_deviations \
             mean_ms_in_stage median_ms_in_stage p90_ms_in_stage",
        ),
        (format!(r#"retention('{{"start": {a}}}')"#), "cohort cohort_size period people rate"),
        (format!(r#"lifecycle('{{"event": {a}}}')"#), "interval_start status people"),
        (
            format!(r#"journey_scores('{{"start": {a}, "complete": {a}}}')"#),
            "section group_value metric value",
        ),
    ] {
        let rows = sql(&snapshot, dir.path(), &format!("SELECT * FROM {call}")).unwrap();
        let names: Vec<&str> = rows.schema_ref().fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names.join(" "), columns.split_whitespace().collect::<Vec<_>>().join(" "), "{call}");
    }
}

/// What the report itself says of `json`: the parse error or its own.
fn report_error<Q: serde::de::DeserializeOwned>(
    json: &str,
    snapshot: &Snapshot,
    run: fn(&Q, &Snapshot) -> Result<(), AnalyticsError>,
) -> String {
    match serde_json::from_str::<Q>(json) {
        Err(e) => format!("query: {e}"),
        Ok(q) => run(&q, snapshot).unwrap_err().to_string(),
    }
}

#[test]
fn a_bad_argument_is_a_plan_error_naming_the_function() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = Arc::new(snapshot_of(dir.path(), log(), 100).0);
    let funnel = |q: &FunnelQuery, s: &Snapshot| q.run(s).map(drop);
    let paths = |q: &PathsQuery, s: &Snapshot| q.run(s).map(drop);
    let retention = |q: &RetentionQuery, s: &Snapshot| q.run(s).map(drop);
    let mut cases = Vec::new();
    for json in [
        r#"{"steps": "#,
        r#"{"steps": [{"event": "A"}], "stepz": 1}"#,
        r#"{"steps": []}"#,
    ] {
        cases.push(("funnel", json, report_error(json, &snapshot, funnel)));
    }
    let json = r#"{"steps": 1}"#;
    cases.push(("paths", json, report_error(json, &snapshot, paths)));
    let json = r#"{"start": {"event": "A"}, "interval": "year"}"#;
    cases.push(("retention", json, report_error(json, &snapshot, retention)));
    let reasons: Vec<&str> = cases.iter().map(|c| c.2.as_str()).collect();
    assert!(
        reasons[0].starts_with("query: EOF while parsing"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("query: unknown field `stepz`"),
        "{reasons:?}"
    );
    assert!(reasons[2].starts_with("a funnel has 1 to"), "{reasons:?}");
    assert!(
        reasons[3].starts_with("steps: a path is 2 to 20"),
        "{reasons:?}"
    );
    assert!(reasons[4].starts_with("interval: expected"), "{reasons:?}");
    let mut statements: Vec<(String, String)> = cases
        .into_iter()
        .map(|(name, json, reason)| {
            (
                format!("SELECT * FROM {name}('{json}')"),
                format!("{name}: {reason}"),
            )
        })
        .collect();
    for (call, name) in [
        ("journey_map(42)", "journey_map"),
        ("lifecycle()", "lifecycle"),
        ("journey_scores('{}', '{}')", "journey_scores"),
        ("conformance(NULL)", "conformance"),
    ] {
        statements.push((
            format!("SELECT * FROM {call}"),
            format!("{name} takes one string literal: the report's JSON query"),
        ));
    }
    for (statement, wanted) in statements {
        let error = sql(&snapshot, dir.path(), &statement).unwrap_err();
        let AnalyticsError::Sql(message) = &error else {
            panic!("{statement}: {error:?}");
        };
        assert_eq!(
            *message,
            format!("Error during planning: {wanted}"),
            "{statement}"
        );
    }
}

#[test]
fn journey_scores_rows_carry_the_stages_and_the_step_drill_down() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = Arc::new(snapshot_of(dir.path(), crate::scores::staged_log(), 4).0);
    let q = crate::scores::staged_query();
    let report = q.run(&snapshot).unwrap();
    let json = serde_json::to_string(&q).unwrap();
    let rows = sql(
        &snapshot,
        dir.path(),
        &format!(
            "SELECT group_value, metric, value FROM journey_scores('{json}') \
             WHERE section = 'drill_down_step' ORDER BY metric, group_value"
        ),
    )
    .unwrap();
    let drill = report.drill_down.unwrap();
    let mut expected: Vec<(String, &str, f64)> = drill
        .steps
        .iter()
        .flat_map(|s| {
            let step = format!("{} → {}", s.from, s.to);
            [
                (step.clone(), "contribution", s.contribution),
                (step.clone(), "conversion", s.conversion[1]),
                (step, "conversion_before", s.conversion[0]),
            ]
        })
        .collect();
    expected.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    assert_eq!(expected.len(), 9);
    let got: Vec<(String, String, f64)> = strings(&rows, "group_value")
        .into_iter()
        .zip(strings(&rows, "metric"))
        .zip(floats(&rows, "value"))
        .map(|((g, m), v)| (g, m, v.unwrap()))
        .collect();
    let expected: Vec<(String, String, f64)> = expected
        .into_iter()
        .map(|(g, m, v)| (g, m.to_owned(), v))
        .collect();
    assert_eq!(got, expected);

    let reached = sql(
        &snapshot,
        dir.path(),
        &format!(
            "SELECT value FROM journey_scores('{json}') \
             WHERE section = 'compare_stage' AND metric = 'reached'"
        ),
    )
    .unwrap();
    assert_eq!(
        floats(&reached, "value"),
        [Some(4.0), Some(4.0), Some(3.0), Some(2.0)]
    );
}
