//! Reports as tables in the terminal.

use percorso_analytics::funnel::StepReport;
use percorso_analytics::summary::Durations;
use percorso_analytics::FunnelReport;

/// Left-aligned text columns, right-aligned numbers, two spaces apart.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric = |c: usize| {
        rows.iter()
            .all(|r| r[c].starts_with(|ch: char| ch.is_ascii_digit() || ch == '-'))
    };
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(c, text)| {
                if numeric(c) {
                    format!("{text:>width$}", width = widths[c])
                } else {
                    format!("{text:<width$}", width = widths[c])
                }
            })
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A duration in the largest unit that keeps it readable.
pub fn human_ms(ms: f64) -> String {
    let s = ms / 1000.0;
    if s < 1.0 {
        format!("{ms:.0}ms")
    } else if s < 120.0 {
        format!("{s:.1}s")
    } else if s < 7200.0 {
        format!("{:.1}m", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1}h", s / 3600.0)
    } else {
        format!("{:.1}d", s / 86_400.0)
    }
}

/// A histogram as one line per bar, the longest bar 40 characters.
fn print_bars(bins: &[percorso_analytics::summary::Bin]) {
    let most = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    for bin in bins {
        let length = (bin.count * 40).div_ceil(most) as usize;
        println!(
            "  {:>9} – {:<9} {:>7} {}",
            human_ms(bin.from_ms as f64),
            human_ms(bin.to_ms as f64),
            bin.count,
            "█".repeat(length)
        );
    }
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn median(d: &Durations) -> String {
    d.median_ms.map(human_ms).unwrap_or_else(|| "-".into())
}

fn step_rows(steps: &[StepReport], with_times: bool) -> Vec<Vec<String>> {
    steps
        .iter()
        .map(|s| {
            let mut row = vec![
                s.step.to_string(),
                s.event.clone(),
                s.people.to_string(),
                percent(s.conversion_from_start),
                percent(s.conversion_from_previous),
                s.dropped.to_string(),
            ];
            if with_times {
                row.push(median(&s.time_from_previous));
            }
            row
        })
        .collect()
}

pub fn print_funnel(report: &FunnelReport) {
    println!(
        "Funnel ({:?} mode, window {})",
        report.mode,
        human_ms(report.window_ms as f64)
    );
    print_table(
        &[
            "step",
            "event",
            "people",
            "of start",
            "of previous",
            "dropped",
            "median time from previous",
        ],
        &step_rows(&report.steps, true),
    );
    let t = &report.time_to_convert;
    if t.count > 0 {
        println!(
            "time to convert ({} people): mean {}, median {}, p90 {}",
            t.count,
            t.mean_ms.map(human_ms).unwrap_or_default(),
            median(t),
            t.p90_ms.map(human_ms).unwrap_or_default()
        );
        print_bars(&report.time_to_convert_bins);
    }
    if report.excluded > 0 {
        println!("excluded by exclusion steps: {}", report.excluded);
    }
    for group in &report.breakdown {
        println!();
        println!(
            "breakdown: {}",
            if group.value.is_empty() {
                "(none)"
            } else {
                &group.value
            }
        );
        print_table(
            &[
                "step",
                "event",
                "people",
                "of start",
                "of previous",
                "dropped",
            ],
            &step_rows(&group.steps, false),
        );
    }
    if !report.dropped_people.is_empty() {
        println!();
        println!(
            "people who stopped there ({}):",
            report.dropped_people.len()
        );
        for id in &report.dropped_people {
            println!("  {id}");
        }
    }
}

pub fn print_paths(report: &percorso_analytics::PathsReport) {
    println!("Paths ({} sessions)", report.sessions);
    let rows: Vec<Vec<String>> = report
        .paths
        .iter()
        .map(|p| {
            vec![
                p.sessions.to_string(),
                percent(p.share),
                p.events.join(" → "),
            ]
        })
        .collect();
    print_table(&["sessions", "share", "path"], &rows);
    println!();
    println!("links (for a Sankey chart; --json gives them all):");
    let rows: Vec<Vec<String>> = report
        .links
        .iter()
        .take(20)
        .map(|l| {
            vec![
                l.source.clone(),
                l.target.clone(),
                l.sessions.to_string(),
                median(&l.duration),
            ]
        })
        .collect();
    print_table(&["from", "to", "sessions", "median time"], &rows);
}

pub fn print_conformance(report: &percorso_analytics::ConformanceReport) {
    println!(
        "{} people; {} conform ({}); {} completed, {} of them conforming; {} loops, {} skips",
        report.people,
        report.conforming,
        percent(report.conformance),
        report.completed,
        report.conforming_completed,
        report.loops,
        report.skips
    );
    let rows: Vec<Vec<String>> = report
        .stages
        .iter()
        .map(|s| {
            vec![
                s.stage.clone(),
                s.reached.to_string(),
                s.stalled.to_string(),
                median(&s.time_in_stage),
            ]
        })
        .collect();
    print_table(
        &["stage", "reached", "stalled", "median time in stage"],
        &rows,
    );
    if !report.deviations.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = report
            .deviations
            .iter()
            .map(|d| {
                vec![
                    format!("{} → {}", d.from, d.to),
                    d.kind.to_owned(),
                    d.people.to_string(),
                    d.first_for.to_string(),
                ]
            })
            .collect();
        print_table(
            &[
                "move off the design",
                "kind",
                "people",
                "first deviation for",
            ],
            &rows,
        );
    }
    for example in &report.examples {
        println!("  {}: {}", example.profile_id, example.stages.join(" → "));
    }
}

fn optional(value: Option<f64>, unit: &str) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.1}{unit}"))
}

fn score_rows(s: &percorso_analytics::scores::PeriodScores) -> Vec<(&'static str, String)> {
    vec![
        ("journeys", s.instances.to_string()),
        ("completion rate", percent(s.completion_rate)),
        ("median time to complete", median(&s.time_to_complete)),
        (
            "contacts per journey",
            format!("{:.2}", s.contacts_per_instance),
        ),
        ("repeat contacts", percent(s.repeat_contact_share)),
        (
            "channel switches per journey",
            format!("{:.2}", s.channel_switches_per_instance),
        ),
        (
            "first-contact resolution",
            s.first_contact_resolution.map_or("-".into(), percent),
        ),
        (
            "cost to serve per journey",
            format!("{:.2}", s.cost_per_instance),
        ),
        (
            "NPS",
            format!("{} ({} answers)", optional(s.nps, ""), s.nps_responses),
        ),
        (
            "CSAT",
            format!("{} ({} answers)", optional(s.csat, "%"), s.csat_responses),
        ),
    ]
}

pub fn print_scores(report: &percorso_analytics::ScoresReport) {
    let now = score_rows(&report.period);
    let before = report.compare.as_ref().map(score_rows);
    let rows: Vec<Vec<String>> = now
        .iter()
        .enumerate()
        .map(|(i, (name, value))| {
            let mut row = vec![(*name).to_owned(), value.clone()];
            if let Some(before) = &before {
                row.push(before[i].1.clone());
            }
            row
        })
        .collect();
    let header: &[&str] = if before.is_some() {
        &["score", "period", "compared with"]
    } else {
        &["score", "period"]
    };
    print_table(header, &rows);
    if !report.period.stages.is_empty() {
        println!();
        print_stages(report);
    }
    if let Some(drill) = &report.drill_down {
        println!();
        println!(
            "completion rate changed by {:+.1} points; mostly {}",
            drill.change * 100.0,
            drill.explained_by.as_deref().unwrap_or("-")
        );
        if drill.steps.is_empty() {
            print_group_changes(drill);
        } else {
            print_step_changes(drill);
        }
    }
}

/// Instances reaching each stage, in the period (and compared with).
fn print_stages(report: &percorso_analytics::ScoresReport) {
    let before = report.compare.as_ref().map(|c| &c.stages);
    let rows: Vec<Vec<String>> = report
        .period
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut row = vec![
                s.stage.clone(),
                s.reached.to_string(),
                percent(s.conversion),
            ];
            if let Some(b) = before.and_then(|b| b.get(i)) {
                row.extend([b.reached.to_string(), percent(b.conversion)]);
            }
            row
        })
        .collect();
    let header: &[&str] = if before.is_some() {
        &[
            "stage",
            "reached",
            "from previous",
            "reached before",
            "from previous before",
        ]
    } else {
        &["stage", "reached", "from previous"]
    };
    print_table(header, &rows);
}

fn print_step_changes(drill: &percorso_analytics::scores::DrillDown) {
    let rows: Vec<Vec<String>> = drill
        .steps
        .iter()
        .map(|s| {
            vec![
                format!("{} → {}", s.from, s.to),
                format!("{:+.1}", s.contribution * 100.0),
                format!(
                    "{} → {}",
                    percent(s.conversion[0]),
                    percent(s.conversion[1])
                ),
            ]
        })
        .collect();
    print_table(&["step", "points", "conversion"], &rows);
}

fn print_group_changes(drill: &percorso_analytics::scores::DrillDown) {
    let rows: Vec<Vec<String>> = drill
        .groups
        .iter()
        .map(|g| {
            vec![
                if g.value.is_empty() {
                    "(none)".into()
                } else {
                    g.value.clone()
                },
                format!("{:+.1}", g.contribution * 100.0),
                format!("{:+.1}", g.mix_effect * 100.0),
                format!("{:+.1}", g.rate_effect * 100.0),
                format!(
                    "{} → {}",
                    percent(g.completion_rate[0]),
                    percent(g.completion_rate[1])
                ),
            ]
        })
        .collect();
    print_table(
        &["group", "points", "mix", "rate", "completion rate"],
        &rows,
    );
}
