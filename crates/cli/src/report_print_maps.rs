//! Journey maps, retention and lifecycle as tables in the terminal.

use percorso_analytics::{DiscoveryReport, LifecycleReport, RetentionReport};

use crate::report_print::{human_ms, print_table};

pub fn print_journey_map(report: &DiscoveryReport) {
    println!("Journey map of {} people", report.people);
    let rows: Vec<Vec<String>> = report
        .nodes
        .iter()
        .take(25)
        .map(|n| {
            vec![
                n.name.clone(),
                n.occurrences.to_string(),
                n.people.to_string(),
                n.starts.to_string(),
                n.ends.to_string(),
            ]
        })
        .collect();
    print_table(&["activity", "times", "people", "starts", "ends"], &rows);
    println!();
    let rows: Vec<Vec<String>> = report
        .edges
        .iter()
        .take(25)
        .map(|e| {
            let d = &e.duration;
            vec![
                format!("{} → {}", e.from, e.to),
                e.count.to_string(),
                d.mean_ms.map(human_ms).unwrap_or_default(),
                d.median_ms.map(human_ms).unwrap_or_default(),
                d.p90_ms.map(human_ms).unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &["directly followed by", "times", "mean", "median", "p90"],
        &rows,
    );
    println!();
    println!("most common variants:");
    for v in &report.variants {
        println!(
            "  {:>6} ({:.1}%)  {}",
            v.people,
            v.share * 100.0,
            v.activities.join(" → ")
        );
    }
}

pub fn print_retention(report: &RetentionReport) {
    let header: Vec<String> = ["cohort".to_owned(), "size".into()]
        .into_iter()
        .chain((0..report.periods).map(|k| format!("{k}")))
        .collect();
    let percent = |r: &f64| format!("{:.1}%", r * 100.0);
    let mut rows: Vec<Vec<String>> = report
        .cohorts
        .iter()
        .map(|c| {
            let mut row = vec![c.start.clone(), c.size.to_string()];
            row.extend(c.rates.iter().map(percent));
            row.resize(header.len(), String::new());
            row
        })
        .collect();
    let mut total = vec!["all".to_owned(), report.aggregate.size.to_string()];
    total.extend(report.aggregate.rates.iter().map(percent));
    total.resize(header.len(), String::new());
    rows.push(total);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    println!(
        "{:?} retention by {:?}{}",
        report.retention_type,
        report.interval,
        if report.cumulative {
            " (cumulative)"
        } else {
            ""
        }
    );
    print_table(&header, &rows);
}

pub fn print_lifecycle(report: &LifecycleReport) {
    let rows: Vec<Vec<String>> = report
        .intervals
        .iter()
        .map(|i| {
            vec![
                i.start.clone(),
                i.new.to_string(),
                i.returning.to_string(),
                i.resurrecting.to_string(),
                i.dormant.to_string(),
            ]
        })
        .collect();
    println!("Lifecycle by {:?}", report.interval);
    print_table(
        &["interval", "new", "returning", "resurrecting", "dormant"],
        &rows,
    );
}
