//! Retention and lifecycle: hand-checked logs across day, Monday and
//! month boundaries (lifecycle statuses in `retention/lifecycle.rs`), and
//! DuckDB's answers on a random log (`retention/reference.rs`).

use percorso_analytics::retention::{Interval, RetentionType};
use percorso_analytics::rows::EventRow;
use percorso_analytics::{
    AnalyticsError, LifecycleQuery, RetentionQuery, RetentionReport, Snapshot,
};
use serde_json::{json, Value};

use crate::fixtures::{row, snapshot_of};

mod lifecycle;
mod reference;

fn at(text: &str) -> i64 {
    percorso_core::parse_timestamp_millis(text).unwrap()
}

fn retention(query: Value) -> RetentionQuery {
    serde_json::from_value(query).unwrap()
}

fn lifecycle(query: Value) -> LifecycleQuery {
    serde_json::from_value(query).unwrap()
}

/// Cohort start, size and values of a report.
fn table(report: &RetentionReport) -> Vec<(&str, u64, Vec<u64>)> {
    report
        .cohorts
        .iter()
        .map(|c| (c.start.as_str(), c.size, c.values.clone()))
        .collect()
}

#[test]
fn intervals_start_where_the_utc_calendar_says() {
    for (interval, time, start) in [
        (Interval::Day, "2026-03-01T23:59:59.999Z", "2026-03-01"),
        (Interval::Day, "1969-12-31T12:00:00Z", "1969-12-31"),
        (Interval::Week, "2026-01-04T23:59:59Z", "2025-12-29"),
        (Interval::Week, "2026-01-05T00:00:00Z", "2026-01-05"),
        (Interval::Week, "1970-01-01T00:00:00Z", "1969-12-29"),
        (Interval::Month, "2026-02-28T23:00:00Z", "2026-02-01"),
        (Interval::Month, "2024-02-29T23:00:00Z", "2024-02-01"),
        (Interval::Month, "1969-12-31T23:00:00Z", "1969-12-01"),
    ] {
        let ordinal = interval.ordinal(at(time));
        assert_eq!(
            interval.start(ordinal).to_string(),
            start,
            "{interval:?} {time}"
        );
        let first = interval.start_millis(ordinal);
        assert_eq!(interval.ordinal(first), ordinal);
        assert_eq!(interval.ordinal(first - 1), ordinal - 1);
    }
    for ordinal in -60..3000 {
        let monday = Interval::Week.start(ordinal);
        assert_eq!(monday.weekday(), jiff::civil::Weekday::Monday);
    }
}

/// The log both small and split across files: one person's events may be
/// in several files and must be merged back.
fn snapshots(rows: &[EventRow]) -> Vec<(tempfile::TempDir, Snapshot)> {
    [100, 3]
        .into_iter()
        .map(|per_file| {
            let dir = tempfile::tempdir().unwrap();
            let (snapshot, _) = snapshot_of(dir.path(), rows.to_vec(), per_file);
            (dir, snapshot)
        })
        .collect()
}

/// Start A, return B, days from Friday 2026-01-30 over the month's end;
/// the newest event (X) is on 2026-02-04.
fn daily_log() -> Vec<EventRow> {
    vec![
        row("p1", at("2026-01-30T10:00:00Z"), "A"),
        row("p1", at("2026-01-31T09:00:00Z"), "B"),
        row("p1", at("2026-02-02T12:00:00Z"), "B"),
        row("p2", at("2026-01-30T23:59:59.999Z"), "A"),
        row("p2", at("2026-01-31T00:00:00Z"), "B"),
        row("p2", at("2026-01-31T12:00:00Z"), "A"),
        row("p2", at("2026-02-01T08:00:00Z"), "B"),
        row("p3", at("2026-01-29T10:00:00Z"), "A"),
        row("p3", at("2026-01-31T10:00:00Z"), "A"),
        row("p3", at("2026-02-03T10:00:00Z"), "B"),
        row("p4", at("2026-01-30T08:00:00Z"), "B"),
        row("p4", at("2026-01-30T12:00:00Z"), "A"),
        row("p5", at("2026-02-01T08:00:00Z"), "A"),
        row("p5", at("2026-02-01T09:00:00Z"), "B"),
        row("p5", at("2026-02-02T09:00:00Z"), "B"),
        row("p6", at("2026-01-31T09:00:00Z"), "B"),
        row("p7", at("2026-02-04T00:30:00Z"), "X"),
    ]
}

fn daily_query(retention_type: &str, cumulative: bool) -> RetentionQuery {
    retention(json!({
        "start": {"event": "A"}, "return": {"event": "B"}, "periods": 5,
        "retention_type": retention_type, "cumulative": cumulative,
        "from": "2026-01-30", "to": "2026-02-02",
    }))
}

#[test]
fn recurring_daily_retention_counts_each_period_by_hand() {
    for (_dir, snapshot) in snapshots(&daily_log()) {
        let report = daily_query("recurring", false).run(&snapshot).unwrap();
        assert_eq!(report.retention_type, RetentionType::Recurring);
        assert_eq!(report.horizon.as_deref(), Some("2026-02-04"));
        // p2 is in two cohorts; a return on the cohort's own day is period
        // 0; the Feb 1 cohort has only the four periods up to Feb 4.
        assert_eq!(
            table(&report),
            [
                ("2026-01-30", 3, vec![3, 2, 1, 1, 0]),
                ("2026-01-31", 2, vec![2, 1, 0, 1, 0]),
                ("2026-02-01", 1, vec![1, 1, 0, 0]),
            ]
        );
        assert_eq!(report.cohorts[0].rates[1], 2.0 / 3.0);
        let aggregate = &report.aggregate;
        assert_eq!(aggregate.size, 6);
        assert_eq!(aggregate.values, [6, 4, 1, 2, 0]);
        assert_eq!(aggregate.sizes, [6, 6, 6, 6, 5]);
        assert_eq!(aggregate.rates[1], 4.0 / 6.0);
    }
}

#[test]
fn cumulative_retention_counts_a_return_in_every_earlier_period() {
    for (_dir, snapshot) in snapshots(&daily_log()) {
        let report = daily_query("recurring", true).run(&snapshot).unwrap();
        assert_eq!(
            table(&report),
            [
                ("2026-01-30", 3, vec![3, 2, 2, 1, 0]),
                ("2026-01-31", 2, vec![2, 2, 1, 1, 0]),
                ("2026-02-01", 1, vec![1, 1, 0, 0]),
            ]
        );
    }
}

#[test]
fn first_time_cohorts_go_by_the_first_start_event_ever() {
    for (_dir, snapshot) in snapshots(&daily_log()) {
        let report = daily_query("first_time", false).run(&snapshot).unwrap();
        // p3 started on Jan 29, before the range: in no cohort; p2 only in
        // Jan 30's.
        assert_eq!(
            table(&report),
            [
                ("2026-01-30", 3, vec![3, 2, 1, 1, 0]),
                ("2026-01-31", 0, vec![0, 0, 0, 0, 0]),
                ("2026-02-01", 1, vec![1, 1, 0, 0]),
            ]
        );
        assert_eq!(report.cohorts[1].rates, [0.0; 5]);
    }
}

#[test]
fn the_return_event_defaults_to_the_start_event() {
    let (_dir, snapshot) = snapshots(&daily_log()).remove(0);
    let report = retention(json!({
        "start": {"event": "A"}, "periods": 3, "from": "2026-01-30", "to": "2026-02-02",
    }))
    .run(&snapshot)
    .unwrap();
    assert_eq!(
        table(&report),
        [
            ("2026-01-30", 3, vec![3, 1, 0]),
            ("2026-01-31", 2, vec![2, 0, 0]),
            ("2026-02-01", 1, vec![1, 0, 0]),
        ]
    );
}

#[test]
fn open_ends_run_from_the_earliest_cohort_to_the_horizon() {
    let (_dir, snapshot) = snapshots(&daily_log()).remove(0);
    let mut query = daily_query("recurring", false);
    query.range = Default::default();
    let report = query.run(&snapshot).unwrap();
    let starts: Vec<&str> = report.cohorts.iter().map(|c| c.start.as_str()).collect();
    assert_eq!(
        starts,
        [
            "2026-01-29",
            "2026-01-30",
            "2026-01-31",
            "2026-02-01",
            "2026-02-02",
            "2026-02-03",
            "2026-02-04"
        ]
    );
    // p3 came back on day 5, past the last period (4).
    assert_eq!(report.cohorts[0].values, [1, 0, 0, 0, 0]);
    assert_eq!(
        report.cohorts[6].values,
        [0],
        "the horizon's cohort has begun only"
    );
}

/// Weeks from Monday: start A with plan=pro, return B.
fn weekly_log() -> Vec<EventRow> {
    let on_plan = |mut r: EventRow, plan: &str| {
        r.properties = Some(format!(r#"{{"plan":"{plan}"}}"#));
        r
    };
    vec![
        on_plan(row("q1", at("2026-01-11T23:30:00Z"), "A"), "pro"),
        row("q1", at("2026-01-12T00:10:00Z"), "B"),
        row("q1", at("2026-01-26T09:00:00Z"), "B"),
        on_plan(row("q2", at("2026-01-12T00:00:00Z"), "A"), "pro"),
        row("q2", at("2026-01-18T23:00:00Z"), "B"),
        row("q2", at("2026-01-20T09:00:00Z"), "B"),
        on_plan(row("q3", at("2026-01-05T09:00:00Z"), "A"), "free"),
        row("q3", at("2026-01-13T09:00:00Z"), "B"),
        row("q4", at("2026-01-06T09:00:00Z"), "A"),
    ]
}

#[test]
fn weekly_cohorts_start_on_monday_and_follow_start_filters() {
    for (_dir, snapshot) in snapshots(&weekly_log()) {
        for (cumulative, first_week) in [(false, vec![1, 1, 0, 1]), (true, vec![1, 1, 1, 1])] {
            let report = retention(json!({
                "start": {"event": "A", "filters": [{"property": "plan", "value": "pro"}]},
                "return": {"event": "B"}, "interval": "week", "periods": 4,
                "cumulative": cumulative,
                "from": "2026-01-07T12:00:00Z", "to": "2026-01-19",
            }))
            .run(&snapshot)
            .unwrap();
            assert_eq!(report.horizon.as_deref(), Some("2026-01-26"));
            // q1's Sunday start is the week of Jan 5, its Monday return
            // period 1; q3 and q4 are not on the pro plan.
            assert_eq!(
                table(&report),
                [
                    ("2026-01-05", 1, first_week),
                    ("2026-01-12", 1, vec![1, 1, 0]),
                ],
                "cumulative {cumulative}"
            );
        }
    }
}

/// Months: start A, return B, across the end of January.
fn monthly_log() -> Vec<EventRow> {
    vec![
        row("m1", at("2026-01-31T23:59:59Z"), "A"),
        row("m1", at("2026-02-01T00:00:00Z"), "B"),
        row("m1", at("2026-04-15T00:00:00Z"), "B"),
        row("m2", at("2026-02-01T00:00:00Z"), "A"),
        row("m2", at("2026-03-10T00:00:00Z"), "A"),
        row("m2", at("2026-03-10T01:00:00Z"), "B"),
        row("m3", at("2025-12-20T00:00:00Z"), "A"),
        row("m3", at("2026-01-15T00:00:00Z"), "A"),
        row("m4", at("2026-05-02T00:00:00Z"), "B"),
    ]
}

#[test]
fn monthly_cohorts_follow_calendar_months() {
    for (_dir, snapshot) in snapshots(&monthly_log()) {
        for (retention_type, cumulative, expected) in [
            (
                "first_time",
                false,
                [(1, vec![1, 1, 0, 1]), (1, vec![1, 1, 0, 0])],
            ),
            (
                "first_time",
                true,
                [(1, vec![1, 1, 1, 1]), (1, vec![1, 1, 0, 0])],
            ),
            (
                "recurring",
                false,
                [(2, vec![2, 1, 0, 1]), (1, vec![1, 1, 0, 0])],
            ),
        ] {
            let report = retention(json!({
                "start": {"event": "A"}, "return": {"event": "B"}, "interval": "month",
                "periods": 4, "retention_type": retention_type, "cumulative": cumulative,
                "from": "2026-01-01", "to": "2026-03-01",
            }))
            .run(&snapshot)
            .unwrap();
            let expected: Vec<_> = ["2026-01-01", "2026-02-01"]
                .into_iter()
                .zip(expected)
                .map(|(start, (size, values))| (start, size, values))
                .collect();
            assert_eq!(
                table(&report),
                expected,
                "{retention_type} cumulative {cumulative}"
            );
            assert_eq!(report.horizon.as_deref(), Some("2026-05-01"));
        }
    }
}

#[test]
fn queries_take_defaults_and_name_the_field_they_refuse() {
    let query = retention(json!({"start": {"event": "A"}}));
    assert_eq!(
        (
            query.interval.as_str(),
            query.periods,
            query.retention_type.as_str(),
            query.cumulative
        ),
        ("day", 8, "recurring", false)
    );
    assert!(
        serde_json::from_value::<RetentionQuery>(json!({"start": {"event": "A"}, "bogus": 1}))
            .is_err()
    );
    let (_dir, snapshot) = snapshots(&daily_log()).remove(0);
    for (field, bad) in [
        ("interval", json!({"interval": "hour"})),
        ("periods", json!({"periods": 0})),
        ("periods", json!({"periods": 401})),
        ("retention_type", json!({"retention_type": "birth"})),
        ("from", json!({"from": "2026-02-01", "to": "2026-01-01"})),
        ("to", json!({"from": "1990-01-01", "to": "2026-01-01"})),
    ] {
        let mut request = json!({"start": {"event": "A"}});
        request
            .as_object_mut()
            .unwrap()
            .extend(bad.as_object().unwrap().clone());
        match retention(request).run(&snapshot) {
            Err(AnalyticsError::Invalid(message)) => {
                assert!(message.starts_with(field), "{field}: {message}")
            }
            other => panic!("{field}: expected Invalid, got {other:?}"),
        }
    }
    let bad = lifecycle(json!({"event": {"event": "A"}, "interval": "year"})).run(&snapshot);
    assert!(matches!(bad, Err(AnalyticsError::Invalid(m)) if m.starts_with("interval")));
}
