//! Journey scores and the drill-down on a hand-checked log.

use percorso_analytics::rows::EventRow;
use percorso_analytics::ScoresQuery;
use serde_json::json;

use crate::fixtures::{row, snapshot_of};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-01-01T00:00:00Z and 2026-02-01T00:00:00Z.
const JAN: i64 = 1_767_225_600_000;
const FEB: i64 = JAN + 31 * DAY;

fn on(
    person: &str,
    time: i64,
    event: &str,
    channel: Option<&str>,
    properties: Option<&str>,
) -> EventRow {
    let mut r = row(person, time, event);
    r.channel = channel.map(str::to_owned);
    r.properties = properties.map(str::to_owned);
    r
}

/// January: a1 resolved after one call; a2 called twice, opened a ticket,
/// never resolved. February: b1 resolved with no contact; b2 after one
/// call; b3 never. Surveys in February: NPS 10, 9 (after b1's resolution)
/// and 3, CSAT 5 and 2.
fn log() -> Vec<EventRow> {
    vec![
        on("a1", JAN + 4 * DAY, "Issue Reported", Some("web"), None),
        on(
            "a1",
            JAN + 4 * DAY + HOUR,
            "Call Started",
            Some("call_centre"),
            None,
        ),
        on("a1", JAN + 5 * DAY, "Issue Resolved", Some("web"), None),
        on("a2", JAN + 9 * DAY, "Issue Reported", Some("app"), None),
        on(
            "a2",
            JAN + 9 * DAY + HOUR,
            "Call Started",
            Some("call_centre"),
            None,
        ),
        on(
            "a2",
            JAN + 9 * DAY + 2 * HOUR,
            "Call Started",
            Some("call_centre"),
            None,
        ),
        on("a2", JAN + 11 * DAY, "Ticket Opened", Some("email"), None),
        on("a2", JAN + 50 * DAY, "Issue Resolved", Some("app"), None),
        on("b1", FEB + DAY, "Issue Reported", Some("web"), None),
        on(
            "b1",
            FEB + DAY + HOUR,
            "CSAT Survey Answered",
            None,
            Some(r#"{"score":5}"#),
        ),
        on(
            "b1",
            FEB + DAY + 2 * HOUR,
            "Issue Resolved",
            Some("web"),
            None,
        ),
        on(
            "b1",
            FEB + DAY + 3 * HOUR,
            "NPS Survey Answered",
            None,
            Some(r#"{"score":9}"#),
        ),
        on("b2", FEB + 2 * DAY, "Issue Reported", Some("web"), None),
        on(
            "b2",
            FEB + 2 * DAY + HOUR,
            "Call Started",
            Some("call_centre"),
            None,
        ),
        on(
            "b2",
            FEB + 2 * DAY + 2 * HOUR,
            "NPS Survey Answered",
            None,
            Some(r#"{"score":10}"#),
        ),
        on(
            "b2",
            FEB + 2 * DAY + 3 * HOUR,
            "CSAT Survey Answered",
            None,
            Some(r#"{"score":2}"#),
        ),
        on("b2", FEB + 3 * DAY, "Issue Resolved", Some("web"), None),
        on("b3", FEB + 4 * DAY, "Issue Reported", Some("app"), None),
        on(
            "b3",
            FEB + 4 * DAY + HOUR,
            "NPS Survey Answered",
            None,
            Some(r#"{"score":"3"}"#),
        ),
    ]
}

fn query() -> ScoresQuery {
    serde_json::from_value(json!({
        "start": { "event": "Issue Reported" },
        "complete": { "event": "Issue Resolved" },
        "window": "30d",
        "costs": { "call_centre": 5.0, "email": 0.5 },
        "from": "2026-02-01T00:00:00Z", "to": "2026-03-01T00:00:00Z",
        "compare": { "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z" },
        "drill_down": "channel",
    }))
    .unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn scores_count_effort_cost_and_satisfaction() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), log(), 7);
    let report = query().run(&snapshot).unwrap();
    let p = &report.period;
    assert_eq!((p.instances, p.completed), (3, 2));
    assert!(close(p.contacts_per_instance, 1.0 / 3.0));
    assert!(
        close(p.channel_switches_per_instance, 2.0 / 3.0),
        "b2: web, call centre, web"
    );
    assert_eq!(p.first_contact_resolution, Some(1.0));
    assert!(close(p.cost, 5.0));
    assert_eq!(p.cost_per_completed, Some(2.5));
    // Two promoters and a detractor of three answers.
    assert!(close(p.nps.unwrap(), 100.0 / 3.0));
    assert_eq!(p.nps_responses, 3);
    assert_eq!((p.csat, p.csat_responses), (Some(50.0), 2));
    assert_eq!(
        p.time_to_complete.median_ms,
        Some(0.5 * DAY as f64 + HOUR as f64)
    );

    let c = report.compare.as_ref().unwrap();
    assert_eq!(
        (c.instances, c.completed),
        (2, 1),
        "a2 resolved after the window"
    );
    assert!(close(c.cost, 15.5));
    assert!(close(c.repeat_contact_share, 2.0 / 4.0));
    assert_eq!(c.first_contact_resolution, Some(0.5));
    assert_eq!(c.nps, None);
}

#[test]
fn the_drill_down_splits_the_change_into_mix_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), log(), 100);
    let report = query().run(&snapshot).unwrap();
    let drill = report.drill_down.unwrap();
    assert!(close(drill.change, 2.0 / 3.0 - 0.5));
    let web = &drill.groups[0];
    assert_eq!(web.value, "web");
    assert_eq!(web.instances, [1, 2]);
    assert!(close(web.contribution, 1.0 / 6.0));
    assert!(close(web.mix_effect, 1.0 / 6.0));
    assert!(close(web.rate_effect, 0.0));
    let total: f64 = drill.groups.iter().map(|g| g.contribution).sum();
    assert!(close(total, drill.change));
    assert_eq!(report.by_group.len(), 2);
}

#[test]
fn the_drill_down_by_segment_splits_members_from_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = log();
    for person in ["a1", "b1"] {
        let mut entered = row(person, JAN, "Segment Entered");
        entered.properties =
            Some(json!({ "segment": "vip", "generation": 0, "profile_id": person }).to_string());
        rows.push(entered);
    }
    rows.sort_by_key(|r| (r.profile_key, r.timestamp));
    let (snapshot, _) = snapshot_of(dir.path(), rows, 5);
    let mut query = query();
    query.drill_down = Some(percorso_analytics::scores::DrillDownBy::Group(
        percorso_analytics::query::Breakdown::Segment("vip".into()),
    ));
    let drill = query.run(&snapshot).unwrap().drill_down.unwrap();
    let mut groups: Vec<(&str, [u64; 2])> = drill
        .groups
        .iter()
        .map(|g| (g.value.as_str(), [g.instances[0], g.instances[1]]))
        .collect();
    groups.sort();
    // January: a1 (vip), a2; February: b1 (vip), b2, b3.
    assert_eq!(groups, [("not in vip", [1, 2]), ("vip", [1, 1])]);
    let total: f64 = drill.groups.iter().map(|g| g.contribution).sum();
    assert!(close(total, drill.change));
}

/// The journey Issue Reported → Triaged → Fix Proposed → Issue Resolved.
/// January: j1 and j2 resolve; j3 stops at Triaged; j4 skips Triaged and
/// stops at Fix Proposed. February: f1 resolves; f2 and f3 stop at
/// Triaged; f4 never gets past the report.
pub fn staged_log() -> Vec<EventRow> {
    let journeys: [(&str, i64, &[&str]); 8] = [
        ("j1", JAN, &["Triaged", "Fix Proposed", "Issue Resolved"]),
        ("j2", JAN, &["Triaged", "Fix Proposed", "Issue Resolved"]),
        ("j3", JAN, &["Triaged"]),
        ("j4", JAN, &["Fix Proposed"]),
        ("f1", FEB, &["Triaged", "Fix Proposed", "Issue Resolved"]),
        ("f2", FEB, &["Triaged"]),
        ("f3", FEB, &["Triaged"]),
        ("f4", FEB, &[]),
    ];
    let mut rows = Vec::new();
    for (person, month, steps) in journeys {
        let opened = month + 3 * DAY;
        rows.push(on(person, opened, "Issue Reported", Some("web"), None));
        for (i, step) in steps.iter().enumerate() {
            rows.push(on(person, opened + (i as i64 + 1) * HOUR, step, None, None));
        }
    }
    rows.sort_by_key(|r| (r.profile_key, r.timestamp));
    rows
}

pub fn staged_query() -> ScoresQuery {
    serde_json::from_value(json!({
        "start": { "event": "Issue Reported" },
        "complete": { "event": "Issue Resolved" },
        "stages": [
            { "name": "Triaged", "events": [{ "event": "Triaged" }] },
            { "name": "Fix Proposed", "events": [{ "event": "Fix Proposed" }] },
        ],
        "from": "2026-02-01T00:00:00Z", "to": "2026-03-01T00:00:00Z",
        "compare": { "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z" },
        "drill_down": "step",
    }))
    .unwrap()
}

#[test]
fn stages_count_the_instances_that_reached_them_or_a_later_one() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), staged_log(), 3);
    let report = staged_query().run(&snapshot).unwrap();
    let reached = |s: &percorso_analytics::scores::PeriodScores| -> Vec<(String, u64)> {
        s.stages
            .iter()
            .map(|r| (r.stage.clone(), r.reached))
            .collect()
    };
    let names = [
        "Issue Reported",
        "Triaged",
        "Fix Proposed",
        "Issue Resolved",
    ];
    let expect = |counts: [u64; 4]| -> Vec<(String, u64)> {
        names.iter().map(|n| n.to_string()).zip(counts).collect()
    };
    assert_eq!(reached(&report.period), expect([4, 3, 1, 1]));
    // j4 skipped Triaged: reaching Fix Proposed counts for it.
    assert_eq!(
        reached(report.compare.as_ref().unwrap()),
        expect([4, 4, 3, 2])
    );
    assert!(close(report.period.stages[2].conversion, 1.0 / 3.0));
}

#[test]
fn the_step_drill_down_finds_the_step_that_explains_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), staged_log(), 5);
    let drill = staged_query().run(&snapshot).unwrap().drill_down.unwrap();
    assert!(close(drill.change, 0.25 - 0.5));
    assert!(drill.groups.is_empty());
    let steps: Vec<(&str, &str, [u64; 2], [u64; 2])> = drill
        .steps
        .iter()
        .map(|s| (s.from.as_str(), s.to.as_str(), s.entered, s.moved_on))
        .collect();
    assert_eq!(
        steps,
        [
            ("Issue Reported", "Triaged", [4, 4], [4, 3]),
            ("Triaged", "Fix Proposed", [4, 3], [3, 1]),
            ("Fix Proposed", "Issue Resolved", [3, 1], [2, 1]),
        ]
    );
    // Three factors: step j's Shapley value is its change times the mean,
    // over orders, of the other two factors' product.
    let (before, after) = ([1.0, 0.75, 2.0 / 3.0], [0.75, 1.0 / 3.0, 1.0]);
    for (j, step) in drill.steps.iter().enumerate() {
        let (k, l) = ((j + 1) % 3, (j + 2) % 3);
        let others = before[k] * before[l] / 3.0
            + (before[k] * after[l] + after[k] * before[l]) / 6.0
            + after[k] * after[l] / 3.0;
        let expected = (after[j] - before[j]) * others;
        assert!(close(step.contribution, expected), "step {j}: {step:?}");
    }
    let total: f64 = drill.steps.iter().map(|s| s.contribution).sum();
    assert!(close(total, drill.change));
    assert_eq!(
        drill.explained_by.as_deref(),
        Some("Triaged → Fix Proposed")
    );
}

#[test]
fn the_step_drill_down_needs_stages() {
    let dir = tempfile::tempdir().unwrap();
    let (snapshot, _) = snapshot_of(dir.path(), staged_log(), 5);
    let mut query = staged_query();
    query.stages.clear();
    let error = query.run(&snapshot).unwrap_err().to_string();
    assert!(
        error.contains("drill_down") && error.contains("stages"),
        "{error}"
    );
}
