//! Funnels on a log small enough to check by hand.

use percorso_analytics::conditions::EventCondition;
use percorso_analytics::funnel::chain::FunnelMode;
use percorso_analytics::funnel::Exclusion;
use percorso_analytics::query::Breakdown;
use percorso_analytics::rows::EventRow;
use percorso_analytics::FunnelQuery;

use crate::fixtures::{breakdown_people, row, snapshot_of};

const MIN: i64 = 60_000;

/// Window 10 minutes, steps A → B → C:
/// p1 A B C (level 3, 2 min); p2 A B (2); p3 A C (1); p4 B only (not in);
/// p5 A, B too late, then A B C again (3, 2 min); p6 A X B C (3; X is the
/// exclusion between steps 1 and 2).
fn log() -> Vec<EventRow> {
    let mut rows = vec![
        row("p1", 0, "A"),
        row("p1", MIN, "B"),
        row("p1", 2 * MIN, "C"),
        row("p2", 0, "A"),
        row("p2", MIN, "B"),
        row("p3", 0, "A"),
        row("p3", MIN, "C"),
        row("p4", 0, "B"),
        row("p5", 0, "A"),
        row("p5", 20 * MIN, "B"),
        row("p5", 25 * MIN, "A"),
        row("p5", 26 * MIN, "B"),
        row("p5", 27 * MIN, "C"),
        row("p6", 0, "A"),
        row("p6", MIN / 2, "X"),
        row("p6", MIN, "B"),
        row("p6", 2 * MIN, "C"),
    ];
    for r in rows.iter_mut().filter(|r| r.event == "A") {
        let plan = if r.profile_id == "p1" {
            "gold"
        } else {
            "basic"
        };
        r.properties = Some(format!(r#"{{"plan":"{plan}"}}"#));
    }
    rows
}

fn query(mode: FunnelMode) -> FunnelQuery {
    FunnelQuery {
        steps: ["A", "B", "C"].map(EventCondition::named).to_vec(),
        window: "10m".into(),
        mode,
        exclusions: Vec::new(),
        breakdown: None,
        range: Default::default(),
        dropped_at: None,
        people_limit: 100,
        convert_bins: 10,
    }
}

fn people(report: &percorso_analytics::FunnelReport) -> Vec<u64> {
    report.steps.iter().map(|s| s.people).collect()
}

#[test]
fn counts_each_step_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    // One person's events span files: the merge must put them back together.
    for per_file in [100, 3] {
        let (snapshot, _) = snapshot_of(dir.path(), log(), per_file);
        let mut q = query(FunnelMode::Default);
        q.dropped_at = Some(1);
        let report = q.run(&snapshot).unwrap();
        assert_eq!(people(&report), [5, 4, 3], "{per_file} rows per file");
        assert_eq!(report.steps[1].dropped, 1, "p2 stopped at B");
        assert_eq!(report.dropped_people, ["p3"]);
        assert_eq!(report.time_to_convert.count, 3);
        assert_eq!(report.time_to_convert.median_ms, Some(2.0 * MIN as f64));
        // All three took 2 minutes: one bar one millisecond wide.
        let bars: Vec<(i64, i64, u64)> = report
            .time_to_convert_bins
            .iter()
            .map(|b| (b.from_ms, b.to_ms, b.count))
            .collect();
        assert_eq!(bars, [(2 * MIN, 2 * MIN + 1, 3)]);
        assert_eq!(
            report.steps[1].time_from_previous.median_ms,
            Some(MIN as f64)
        );
        assert!((report.steps[2].conversion_from_start - 0.6).abs() < 1e-9);
        assert!((report.steps[2].conversion_from_previous - 0.75).abs() < 1e-9);
    }
}

#[test]
fn strict_order_breaks_on_other_events_and_skipped_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), log(), 100);
    let report = query(FunnelMode::StrictOrder).run(&snapshot).unwrap();
    assert_eq!(people(&report), [5, 3, 2]);
}

#[test]
fn an_exclusion_between_steps_leaves_the_person_out() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), log(), 100);
    let mut q = query(FunnelMode::Default);
    q.exclusions.push(Exclusion {
        condition: EventCondition::named("X"),
        from_step: 1,
        to_step: 2,
    });
    let report = q.run(&snapshot).unwrap();
    assert_eq!(people(&report), [4, 3, 2]);
    assert_eq!(report.excluded, 1);
}

#[test]
fn property_filters_and_breakdowns_read_the_step_event() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), log(), 100);
    let mut q = query(FunnelMode::Default);
    q.steps[0] = EventCondition::parse("A[plan=basic]").unwrap();
    assert_eq!(people(&q.run(&snapshot).unwrap()), [4, 3, 2]);

    let mut q = query(FunnelMode::Default);
    q.breakdown = Some(Breakdown::Property("plan".into()));
    let report = q.run(&snapshot).unwrap();
    let groups = breakdown_people(&report);
    assert_eq!(
        groups,
        [
            ("basic".to_owned(), vec![4, 3, 2]),
            ("gold".to_owned(), vec![1, 1, 1])
        ]
    );
}

#[test]
fn a_time_range_keeps_only_events_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), log(), 100);
    let mut q = query(FunnelMode::Default);
    q.range.from = Some("1970-01-01T00:24:00Z".into());
    // Only p5's second attempt is at or after minute 24.
    assert_eq!(people(&q.run(&snapshot).unwrap()), [1, 1, 1]);
}

#[test]
fn bad_queries_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), log(), 100);
    let mut q = query(FunnelMode::Default);
    q.window = "ten minutes".into();
    let err = q.run(&snapshot).unwrap_err().to_string();
    assert!(err.contains("window 'ten minutes'"), "{err}");
    let mut q = query(FunnelMode::Default);
    q.exclusions.push(Exclusion {
        condition: EventCondition::named("X"),
        from_step: 2,
        to_step: 2,
    });
    let err = q.run(&snapshot).unwrap_err().to_string();
    assert!(err.contains("exclusions[0]"), "{err}");
    let mut q = query(FunnelMode::Default);
    q.convert_bins = 0;
    let err = q.run(&snapshot).unwrap_err().to_string();
    assert!(err.contains("convert_bins"), "{err}");
}
