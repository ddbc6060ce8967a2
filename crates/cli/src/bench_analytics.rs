//! `percorso bench analytics`: a 5-step funnel, a path query and a
//! directly-follows graph over generated events, each timed against DuckDB
//! and chdb (ClickHouse's engine; `windowFunnel` for the funnel) reading the
//! same Parquet file, in the same run. The answers must agree.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use percorso_analytics::conditions::EventCondition;
use percorso_analytics::rewrite::{rewrite, Changes};
use percorso_analytics::rows::{EventRow, RecordFacts};
use percorso_analytics::writer::{write_rows, FileStats};
use percorso_analytics::{DiscoveryQuery, FunnelQuery, PathsQuery, Snapshot};
use percorso_generator::{generate, GeneratorConfig};
use serde_json::{json, Value};

const STEPS: [&str; 5] = [
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Payment Info Entered",
    "Order Completed",
];
const WINDOW_MS: i64 = 7 * 86_400_000;
const PATH_STEPS: usize = 5;
/// The generator writes about this many events per person over 30 days.
const EVENTS_PER_PERSON: u64 = 45;

#[derive(Debug, Args)]
pub struct AnalyticsBenchArgs {
    /// Events to generate (about; the generator decides per person).
    #[arg(long, default_value_t = 10_000_000)]
    pub events: u64,
    /// Timed runs per engine; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Where the Parquet file goes (a temporary directory by default). A
    /// dataset of the same size already there is used again, not rebuilt.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Only the cases whose name starts with this (funnel, paths, journey).
    #[arg(long)]
    pub only: Option<String>,
    /// Skip DuckDB and chdb.
    #[arg(long)]
    pub no_reference: bool,
}

/// Turns generated JSON lines into rows, writing a sorted file every
/// `per_file` rows.
struct RowSink<'a> {
    pending: Vec<u8>,
    rows: Vec<EventRow>,
    files: Vec<(PathBuf, FileStats)>,
    dir: &'a Path,
    per_file: usize,
}

impl RowSink<'_> {
    fn line(&mut self, line: &[u8]) -> std::io::Result<()> {
        #[derive(serde::Deserialize)]
        struct Ids<'a> {
            #[serde(default, rename = "userId", borrow)]
            user_id: Option<&'a str>,
            #[serde(default, rename = "anonymousId", borrow)]
            anonymous_id: Option<&'a str>,
            #[serde(borrow)]
            timestamp: &'a str,
        }
        let bad = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let ids: Ids<'_> = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
        let time =
            percorso_core::parse_timestamp_millis(ids.timestamp).map_err(|e| bad(e.to_string()))?;
        // Without identity resolution: a person is their user id once known.
        let profile = ids.user_id.or(ids.anonymous_id).unwrap_or("");
        let facts = RecordFacts {
            timestamp: time,
            received_at: time,
            source_id: "bench",
            user_id: ids.user_id.unwrap_or(""),
            anonymous_id: ids.anonymous_id.unwrap_or(""),
        };
        let row = EventRow::from_message(profile, facts, line).map_err(|e| bad(e.to_string()))?;
        self.rows.push(row);
        if self.rows.len() >= self.per_file {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let path = self
            .dir
            .join(format!("chunk-{:04}.parquet", self.files.len()));
        let stats = write_rows(&path, &mut self.rows).map_err(std::io::Error::other)?;
        self.rows.clear();
        self.files.push((path, stats));
        Ok(())
    }
}

impl Write for RowSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let mut start = 0;
        while let Some(end) = memchr::memchr(b'\n', &self.pending[start..]) {
            let line = self.pending[start..start + end].to_vec();
            self.line(&line)?;
            start += end + 1;
        }
        self.pending.drain(..start);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Generates about `events` events into one sorted Parquet file.
fn build_dataset(events: u64, dir: &Path) -> anyhow::Result<(PathBuf, FileStats)> {
    let out = dir.join(format!("events-{events}.parquet"));
    let stats_file = dir.join(format!("events-{events}.stats.json"));
    if let Ok(text) = std::fs::read(&stats_file) {
        if out.exists() {
            return Ok((out, serde_json::from_slice(&text)?));
        }
    }
    let people = (events / EVENTS_PER_PERSON).max(1);
    let mut sink = RowSink {
        pending: Vec::new(),
        rows: Vec::new(),
        files: Vec::new(),
        dir,
        per_file: 2_000_000,
    };
    generate(&GeneratorConfig::new(people, 30, 1), &mut sink)?;
    sink.flush()?;
    let chunks: Vec<PathBuf> = sink.files.iter().map(|(p, _)| p.clone()).collect();
    let stats = rewrite(&chunks, &out, &Changes::default())?;
    for chunk in chunks {
        std::fs::remove_file(chunk)?;
    }
    // Written last: its presence says the dataset is whole.
    std::fs::write(&stats_file, serde_json::to_vec(&stats)?)?;
    Ok((out, stats))
}

/// A `/proc/self/status` figure (`VmHWM:`, `VmRSS:`) in MiB.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Starts peak-RSS accounting afresh (Linux: clear_refs 5).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn reference(request: &Value) -> anyhow::Result<Value> {
    let python = Path::new(".venv/bin/python");
    let script = Path::new("tests/python/reference_funnel.py");
    if !python.exists() || !script.exists() {
        bail!("run from the repository after scripts/setup-test-env.sh (needs .venv with duckdb and chdb)");
    }
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("start python")?;
    serde_json::to_writer(child.stdin.take().context("stdin")?, request)?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("{} failed", request["engine"]);
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Our side of a case: the answer in the reference script's shape.
type OurAnswer = Box<dyn Fn(&Snapshot) -> anyhow::Result<Value>>;

/// One query timed on every engine: ours answers `(answer key, answer)`
/// in the reference script's shape so the two can be compared.
struct Case {
    name: &'static str,
    request: Value,
    key: &'static str,
    ours: OurAnswer,
}

fn cases() -> Vec<Case> {
    let funnel = FunnelQuery {
        steps: STEPS.map(EventCondition::named).to_vec(),
        window: WINDOW_MS.to_string(),
        ..serde_json::from_value(json!({ "steps": [] })).expect("empty funnel parses")
    };
    let paths: PathsQuery =
        serde_json::from_value(json!({ "steps": PATH_STEPS, "session_gap": "30m" }))
            .expect("paths query parses");
    vec![
        Case {
            name: "funnel (5 steps, 7-day window)",
            request: json!({ "query": "funnel", "window_ms": WINDOW_MS, "mode": "default", "steps": STEPS }),
            key: "levels",
            ours: Box::new(move |snapshot| {
                let report = funnel.run(snapshot)?;
                Ok(report
                    .steps
                    .iter()
                    .filter(|s| s.dropped > 0)
                    .map(|s| (s.step.to_string(), json!(s.dropped)))
                    .collect::<serde_json::Map<_, _>>()
                    .into())
            }),
        },
        Case {
            name: "paths (sessions, 5 deep)",
            request: json!({ "query": "paths", "gap_ms": 30 * 60_000, "steps": PATH_STEPS }),
            key: "links",
            ours: Box::new(move |snapshot| {
                let report = paths.run(snapshot)?;
                Ok(report
                    .links
                    .iter()
                    .map(|l| (format!("{} -> {}", l.source, l.target), json!(l.sessions)))
                    .collect::<serde_json::Map<_, _>>()
                    .into())
            }),
        },
        Case {
            name: "journey map (directly-follows graph)",
            request: json!({ "query": "dfg" }),
            key: "edges",
            ours: Box::new(|snapshot| {
                let report = DiscoveryQuery::default().run(snapshot)?;
                Ok(report
                    .edges
                    .iter()
                    .map(|e| (format!("{} -> {}", e.from, e.to), json!(e.count)))
                    .collect::<serde_json::Map<_, _>>()
                    .into())
            }),
        },
    ]
}

pub fn run(args: AnalyticsBenchArgs) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&dir)?;
    let started = Instant::now();
    let (file, stats) = build_dataset(args.events, &dir)?;
    let size = std::fs::metadata(&file)?.len() as f64 / (1 << 20) as f64;
    println!(
        "dataset: {} events, {:.0} MiB Parquet, ready in {:.1}s",
        stats.rows,
        size,
        started.elapsed().as_secs_f64()
    );
    let snapshot = Snapshot::of_files(vec![(file.clone(), stats)]);
    let chosen = |case: &Case| {
        args.only
            .as_deref()
            .is_none_or(|o| case.name.starts_with(o))
    };
    for case in cases().into_iter().filter(chosen) {
        println!("{}:", case.name);
        let mut times = Vec::new();
        let mut answer = Value::Null;
        reset_peak_rss();
        let before = status_mib("VmRSS:");
        for _ in 0..args.runs.max(1) {
            let start = Instant::now();
            answer = (case.ours)(&snapshot)?;
            times.push(start.elapsed().as_secs_f64());
        }
        let ours = median(times);
        println!(
            "  percorso: median {ours:.3}s over {} runs; peak RSS {:.0} MiB ({:.0} MiB above the {before:.0} MiB held before)",
            args.runs,
            status_mib("VmHWM:"),
            status_mib("VmHWM:") - before
        );
        if args.no_reference {
            continue;
        }
        for engine in ["duckdb", "chdb"] {
            let mut request = case.request.clone();
            request["engine"] = json!(engine);
            request["files"] = json!([file.display().to_string()]);
            let mut times = Vec::new();
            let mut theirs = Value::Null;
            for _ in 0..args.runs.max(1) {
                theirs = reference(&request)?;
                times.push(theirs["seconds"].as_f64().unwrap_or(f64::NAN));
            }
            let seconds = median(times);
            let agree = theirs[case.key] == answer;
            println!(
                "  {engine:>8}: median {seconds:.3}s; peak RSS {:.0} MiB; percorso is {:.1}x faster; same answer: {agree}",
                theirs["max_rss_mib"].as_f64().unwrap_or(0.0),
                seconds / ours
            );
            if !agree {
                bail!("{engine} answered differently for {}", case.name);
            }
        }
    }
    Ok(())
}
