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
