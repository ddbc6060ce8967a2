//! The compactor against a real event log: rows follow merges, erasures
//! leave the files, and a restart goes on where the manifest says.

use percorso_analytics::conditions::EventCondition;
use percorso_analytics::funnel::chain::FunnelMode;
use percorso_analytics::{CompactionPolicy, Compactor, FunnelQuery};
use percorso_collect::StoredEvent;
use percorso_identity::{IdentityStamp, Merge, ProfileId};
use percorso_log::{EventLog, LogOptions, OpenMode};

fn open_log(dir: &std::path::Path) -> EventLog {
    let options = LogOptions {
        partitions: 2,
        ..LogOptions::default()
    };
    EventLog::open(&dir.join("events"), options, OpenMode::ReadWrite)
        .unwrap()
        .0
}

/// Appends a track event of `profile` (with an optional merge stamp).
fn append(
    log: &EventLog,
    partition: u16,
    profile: &str,
    time: i64,
    event: &str,
    merged_from: Option<&str>,
) {
    let stamp = merged_from.map(|from| IdentityStamp {
        merged: vec![Merge {
            from: ProfileId::new(from),
            into: ProfileId::new(profile),
            identifiers: Vec::new(),
        }],
        ..IdentityStamp::default()
    });
    let stamp = stamp.map(|s| s.encode()).unwrap_or_default();
    let json = format!(r#"{{"type":"track","event":"{event}","messageId":"{profile}-{time}"}}"#);
    let record = StoredEvent {
        received_at: time,
        timestamp: time,
        dedup_key: time as u128,
        source_id: "src",
        user_id: profile,
        anonymous_id: "",
        profile_id: profile,
        stamp: &stamp,
        json: json.as_bytes(),
    };
    log.append_blocking(partition, vec![record.encode()])
        .unwrap();
}

fn levels(compactor: &Compactor) -> Vec<u64> {
    let report = FunnelQuery {
        steps: ["A", "B"].map(EventCondition::named).to_vec(),
        window: "1h".into(),
        mode: FunnelMode::Default,
        exclusions: Vec::new(),
        breakdown: None,
        range: Default::default(),
        dropped_at: None,
        people_limit: 0,
        convert_bins: 10,
    }
    .run(&compactor.store().snapshot())
    .unwrap();
    report.steps.iter().map(|s| s.people).collect()
}

fn policy() -> CompactionPolicy {
    CompactionPolicy {
        rewrite_after_moves: 1_000,
        ..CompactionPolicy::default()
    }
}

#[test]
fn a_merge_joins_the_journeys_of_both_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let ledger = dir.path().join("erased-profiles.jsonl");
    let mut compactor = Compactor::open(&dir.path().join("analytics"), &ledger, policy()).unwrap();
    // The anonymous profile did A; compacted before anyone knew who it was.
    append(&log, 0, "anon", 1_000, "A", None);
    compactor.cycle(&log, 2_000).unwrap();
    assert_eq!(levels(&compactor), [1, 0]);
    // Then it merged into the known customer, who did B.
    append(&log, 1, "known", 2_000, "B", Some("anon"));
    let report = compactor.cycle(&log, 3_000).unwrap();
    assert_eq!(report.merges, 1);
    assert_eq!(
        levels(&compactor),
        [1, 1],
        "read as one person before any rewrite"
    );
    assert_eq!(compactor.store().snapshot().manifest.pending_moves.len(), 1);

    // Reopened, the compactor still knows the merge; a forced rewrite
    // re-keys the old rows and leaves nothing pending.
    drop(compactor);
    let strict = CompactionPolicy {
        rewrite_after_moves: 0,
        ..policy()
    };
    let mut compactor = Compactor::open(&dir.path().join("analytics"), &ledger, strict).unwrap();
    append(&log, 0, "known", 3_000, "C", None);
    let report = compactor.cycle(&log, 4_000).unwrap();
    assert!(report.merging, "the rewrite runs on its own thread");
    assert!(compactor.wait_for_merge().unwrap().rewritten);
    let snapshot = compactor.store().snapshot();
    assert!(snapshot.manifest.pending_moves.is_empty());
    assert_eq!(snapshot.files.len(), 1);
    assert_eq!(snapshot.rows(), 3);
    assert_eq!(levels(&compactor), [1, 1]);
    let ids = percorso_analytics::lookup::profile_ids(
        &snapshot,
        &[percorso_analytics::schema::profile_key("known")],
    )
    .unwrap();
    assert_eq!(ids.len(), 1);
}

#[test]
fn an_erased_profile_leaves_the_files_at_the_next_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let ledger = dir.path().join("erased-profiles.jsonl");
    let mut compactor = Compactor::open(&dir.path().join("analytics"), &ledger, policy()).unwrap();
    append(&log, 0, "ada", 1_000, "A", None);
    append(&log, 1, "bob", 1_000, "A", None);
    compactor.cycle(&log, 2_000).unwrap();
    assert_eq!(levels(&compactor), [2, 0]);
    let old_files = compactor.store().snapshot().paths();

    std::fs::write(
        &ledger,
        "{\"profiles\":[\"ada\"],\"next_sequence\":9,\"at\":5}\n",
    )
    .unwrap();
    let report = compactor.cycle(&log, 3_000).unwrap();
    assert_eq!(report.erased, 1);
    assert_eq!(levels(&compactor), [1, 0], "hidden before the rewrite");
    assert!(compactor.wait_for_merge().unwrap().rewritten);
    let snapshot = compactor.store().snapshot();
    assert_eq!(snapshot.rows(), 1);
    assert_eq!(levels(&compactor), [1, 0]);
    // The replaced file is deleted once no snapshot reads it.
    drop(snapshot);
    assert!(old_files.iter().all(|p| !p.exists()), "{old_files:?}");
    // Events of the erased person that arrive later are not compacted.
    append(&log, 0, "ada", 4_000, "B", None);
    compactor.cycle(&log, 5_000).unwrap();
    assert_eq!(compactor.store().snapshot().rows(), 1);
}

#[test]
fn a_restart_reads_on_from_the_cursors_and_drops_unlisted_files() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let ledger = dir.path().join("erased-profiles.jsonl");
    let store_dir = dir.path().join("analytics");
    let mut compactor = Compactor::open(&store_dir, &ledger, policy()).unwrap();
    append(&log, 0, "ada", 1_000, "A", None);
    compactor.cycle(&log, 2_000).unwrap();
    drop(compactor);
    // A file a crash left before its manifest was written.
    std::fs::write(store_dir.join("events-0000009999.parquet"), b"partial").unwrap();
    let mut compactor = Compactor::open(&store_dir, &ledger, policy()).unwrap();
    assert!(!store_dir.join("events-0000009999.parquet").exists());
    append(&log, 0, "ada", 2_000, "B", None);
    let report = compactor.cycle(&log, 3_000).unwrap();
    assert_eq!(report.events, 1, "only the new event is read");
    assert_eq!(levels(&compactor), [1, 1]);
}

#[test]
fn many_small_files_are_merged_into_few() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let ledger = dir.path().join("erased-profiles.jsonl");
    let mut compactor = Compactor::open(&dir.path().join("analytics"), &ledger, policy()).unwrap();
    for i in 0..30 {
        append(
            &log,
            (i % 2) as u16,
            &format!("p{}", i % 7),
            1_000 + i,
            if i % 3 == 0 { "A" } else { "B" },
            None,
        );
        compactor.cycle(&log, 2_000 + i).unwrap();
        compactor.wait_for_merge().unwrap();
        assert!(compactor.store().snapshot().files.len() <= policy().max_files);
    }
    assert_eq!(compactor.store().snapshot().rows(), 30);
}

#[test]
fn events_keep_being_compacted_while_a_rewrite_runs() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path());
    let ledger = dir.path().join("erased-profiles.jsonl");
    let mut compactor = Compactor::open(&dir.path().join("analytics"), &ledger, policy()).unwrap();
    for person in ["ada", "bob", "cy"] {
        append(&log, 0, person, 1_000, "A", None);
    }
    compactor.cycle(&log, 2_000).unwrap();
    std::fs::write(
        &ledger,
        "{\"profiles\":[\"ada\"],\"next_sequence\":9,\"at\":5}\n",
    )
    .unwrap();
    let report = compactor.cycle(&log, 3_000).unwrap();
    assert!(report.merging);
    // Whether or not the rewrite is done yet, the next cycle takes the new
    // events, and the rewrite's output later replaces only what it read.
    append(&log, 1, "bob", 2_000, "B", None);
    append(&log, 0, "ada", 2_000, "B", None);
    let report = compactor.cycle(&log, 4_000).unwrap();
    assert_eq!(report.events, 1, "ada's later event is not compacted");
    assert_eq!(levels(&compactor), [2, 1]);
    compactor.wait_for_merge().unwrap();
    let snapshot = compactor.store().snapshot();
    assert!(snapshot.manifest.pending_erased.is_empty());
    assert_eq!(snapshot.rows(), 3, "bob's two events and cy's one");
    assert_eq!(levels(&compactor), [2, 1]);
}
