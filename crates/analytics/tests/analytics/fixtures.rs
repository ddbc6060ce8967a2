//! Building small event logs as files, and asking the reference engines.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use percorso_analytics::rows::EventRow;
use percorso_analytics::schema::profile_key;
use percorso_analytics::writer::write_rows;
use percorso_analytics::Snapshot;
use serde_json::Value;

/// A row of `person` doing `event` at `time` (ms).
pub fn row(person: &str, time: i64, event: &str) -> EventRow {
    EventRow {
        profile_key: profile_key(person),
        profile_id: person.to_owned(),
        timestamp: time,
        received_at: time,
        kind: "track".into(),
        event: event.to_owned(),
        name: None,
        channel: None,
        user_id: Some(person.to_owned()),
        anonymous_id: None,
        message_id: None,
        source_id: "test".into(),
        properties: None,
        traits: None,
        context: None,
    }
}

/// The rows written as files of `per_file` rows each (in the given order,
/// so one person may span files), and the snapshot of them.
pub fn snapshot_of(dir: &Path, rows: Vec<EventRow>, per_file: usize) -> (Snapshot, Vec<PathBuf>) {
    let mut files = Vec::new();
    for (i, chunk) in rows.chunks(per_file.max(1)).enumerate() {
        let path = dir.join(format!("events-{i:04}.parquet"));
        let stats = write_rows(&path, &mut chunk.to_vec()).expect("write rows");
        files.push((path, stats));
    }
    let paths = files.iter().map(|(p, _)| p.clone()).collect();
    (Snapshot::of_files(files), paths)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Asks `tests/python/reference_funnel.py` (chdb or DuckDB from the
/// project's venv, which `scripts/setup-test-env.sh` installs).
pub fn reference(request: &Value) -> Value {
    reference_script("reference_funnel.py", request)
}

/// Asks `tests/python/<script>` (run with the project's venv) to answer
/// `request`, given as JSON on stdin, with JSON on stdout.
pub fn reference_script(script: &str, request: &Value) -> Value {
    let root = repo_root();
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-test-env.sh",
        python.display()
    );
    let mut child = Command::new(python)
        .arg(root.join("tests/python").join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    serde_json::to_writer(child.stdin.take().expect("stdin"), request).expect("write request");
    let out = child.wait_with_output().expect("python runs");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("reference answers JSON")
}

/// Deterministic pseudo-random numbers (xorshift64*), for random logs
/// that are the same on every run.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// A funnel's breakdown as (value, people per step), in report order.
pub fn breakdown_people(report: &percorso_analytics::FunnelReport) -> Vec<(String, Vec<u64>)> {
    report
        .breakdown
        .iter()
        .map(|g| (g.value.clone(), g.steps.iter().map(|s| s.people).collect()))
        .collect()
}
