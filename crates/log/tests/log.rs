//! Behaviour of the durable log through its public API.

use std::path::Path;
use std::sync::Arc;

use percorso_log::{EventLog, LogOptions, OpenMode};
use proptest::prelude::*;

#[path = "log/erasure.rs"]
mod erasure;

fn options(partitions: u16, segment_bytes: u64) -> LogOptions {
    LogOptions {
        partitions,
        segment_bytes,
    }
}

fn open(dir: &Path, opts: LogOptions) -> EventLog {
    EventLog::open(dir, opts, OpenMode::ReadWrite).unwrap().0
}

fn replay(log: &EventLog, partition: u16, from: u64) -> Vec<(u64, Vec<u8>)> {
    log.reader(partition, from)
        .unwrap()
        .map(|r| {
            let (record, _) = r.unwrap();
            (record.offset, record.payload)
        })
        .collect()
}

fn payload(i: usize) -> Vec<u8> {
    format!("record-{i}-{}", "x".repeat(i % 37)).into_bytes()
}

#[test]
fn appends_are_numbered_per_partition_and_replay_from_any_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), options(3, 1 << 20));
    for i in 0..30 {
        let receipt = log
            .append_blocking((i % 3) as u16, vec![payload(i)])
            .unwrap();
        assert_eq!(receipt.locations[0].offset, (i / 3) as u64);
    }
    let all = replay(&log, 1, 0);
    assert_eq!(all.len(), 10);
    assert_eq!(all[0].1, payload(1));
    let tail = replay(&log, 1, 7);
    assert_eq!(tail.iter().map(|r| r.0).collect::<Vec<_>>(), vec![7, 8, 9]);
    assert_eq!(tail[0].1, payload(22));
    assert!(replay(&log, 1, 10).is_empty());
    assert!(
        log.reader(1, 11).is_err(),
        "reading past the end is an error"
    );
}

#[test]
fn concurrent_appends_are_each_acknowledged_once_with_distinct_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(open(dir.path(), options(2, 1 << 20)));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut locations = Vec::new();
                for i in 0..50 {
                    let batch = vec![payload(t * 1000 + i), payload(t * 1000 + i + 500)];
                    locations.extend(log.append_blocking(0, batch).unwrap().locations);
                }
                locations
            })
        })
        .collect();
    let mut offsets: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .map(|l| l.offset)
        .collect();
    offsets.sort_unstable();
    assert_eq!(offsets, (0..800).collect::<Vec<u64>>());
    assert_eq!(replay(&log, 0, 0).len(), 800);
}

#[test]
fn records_read_back_by_location_across_segment_rolls_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut locations = Vec::new();
    {
        let log = open(dir.path(), options(1, 512));
        for i in 0..200 {
            locations.push(log.append_blocking(0, vec![payload(i)]).unwrap().locations[0]);
        }
        let segments = locations
            .iter()
            .map(|l| l.segment)
            .collect::<std::collections::BTreeSet<_>>();
        assert!(
            segments.len() > 5,
            "small segments must roll, got {segments:?}"
        );
    }
    let (log, report) = EventLog::open(dir.path(), options(7, 512), OpenMode::ReadWrite).unwrap();
    assert_eq!(
        log.partition_count(),
        1,
        "a reopened log keeps its partition count"
    );
    assert_eq!(report.partitions[0].next_offset, 200);
    assert_eq!(report.partitions[0].truncated_bytes, 0);
    for (i, location) in locations.iter().enumerate() {
        assert_eq!(log.read_at(*location).unwrap(), payload(i));
    }
    let from_middle = replay(&log, 0, 123);
    assert_eq!(from_middle.len(), 77);
    assert_eq!(from_middle[0], (123, payload(123)));
    let next = log.append_blocking(0, vec![b"after".to_vec()]).unwrap();
    assert_eq!(next.locations[0].offset, 200);
}

#[test]
fn routing_is_stable_and_spreads_keys() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), options(4, 1 << 20));
    let mut counts = [0usize; 4];
    for i in 0..4000 {
        let key = format!("user-{i}");
        let p = log.partition_for(key.as_bytes());
        assert_eq!(p, log.partition_for(key.as_bytes()));
        counts[p as usize] += 1;
    }
    assert!(
        counts.iter().all(|&c| c > 800),
        "uneven routing: {counts:?}"
    );
}

fn tail_segment(dir: &Path) -> std::path::PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("p0000"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.pop().unwrap()
}

#[test]
fn read_only_open_leaves_a_damaged_tail_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), options(1, 1 << 20));
        for i in 0..10 {
            log.append_blocking(0, vec![payload(i)]).unwrap();
        }
    }
    let tail = tail_segment(dir.path());
    let len = std::fs::metadata(&tail).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&tail)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let (log, report) =
        EventLog::open(dir.path(), LogOptions::default(), OpenMode::ReadOnly).unwrap();
    assert_eq!(report.partitions[0].next_offset, 9);
    assert_eq!(replay(&log, 0, 0).len(), 9);
    assert!(log.append_blocking(0, vec![b"no".to_vec()]).is_err());
    assert_eq!(std::fs::metadata(&tail).unwrap().len(), len - 3);

    let empty = tempfile::tempdir().unwrap();
    let error =
        EventLog::open(empty.path(), LogOptions::default(), OpenMode::ReadOnly).unwrap_err();
    assert!(error.to_string().contains("no log here"), "{error}");
}

#[test]
fn bytes_cut_by_recovery_are_kept_beside_the_segment() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), options(1, 1 << 20));
        for i in 0..100 {
            log.append_blocking(0, vec![payload(i)]).unwrap();
        }
    }
    let tail = tail_segment(dir.path());
    let original = std::fs::read(&tail).unwrap();
    let middle = original.len() / 2;
    let mut damaged = original.clone();
    damaged[middle] ^= 0xff;
    std::fs::write(&tail, &damaged).unwrap();

    let (log, report) =
        EventLog::open(dir.path(), options(1, 1 << 20), OpenMode::ReadWrite).unwrap();
    let recovery = &report.partitions[0];
    let kept = recovery.set_aside.clone().expect("cut bytes are kept");
    let valid = std::fs::metadata(&tail).unwrap().len() as usize;
    assert!(valid <= middle && recovery.next_offset < 100);
    assert_eq!(
        std::fs::read(&kept).unwrap(),
        damaged[valid..],
        "exactly the bytes cut"
    );
    assert_eq!(replay(&log, 0, 0).len() as u64, recovery.next_offset);
    drop(log);
    let (_, again) = EventLog::open(dir.path(), options(1, 1 << 20), OpenMode::ReadWrite).unwrap();
    assert!(
        again.partitions[0].set_aside.is_none(),
        "a clean reopen cuts nothing"
    );
}

#[derive(Debug, Clone)]
enum Damage {
    Truncate,
    Flip(u8),
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Whatever happens to the tail at byte `cut`, recovery keeps every record
    /// that ends before it, returns none that differs from what was written,
    /// and the log accepts appends again at the right offset.
    #[test]
    fn tail_damage_never_loses_earlier_records_nor_yields_corrupt_ones(
        sizes in prop::collection::vec(1usize..300, 1..40),
        cut_fraction in 0.0f64..1.0,
        damage in prop_oneof![Just(Damage::Truncate), (1u8..=255).prop_map(Damage::Flip)],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let written: Vec<Vec<u8>> = sizes.iter().enumerate()
            .map(|(i, &n)| (0..n).map(|b| (b * 31 + i) as u8).collect())
            .collect();
        let mut ends = Vec::new();
        {
            let log = open(dir.path(), options(1, 1 << 30));
            for chunk in written.chunks(3) {
                let receipt = log.append_blocking(0, chunk.to_vec()).unwrap();
                for l in receipt.locations {
                    ends.push(l.position + 16 + written[l.offset as usize].len() as u64);
                }
            }
        }
        let tail = tail_segment(dir.path());
        let len = std::fs::metadata(&tail).unwrap().len();
        let cut = ((len as f64) * cut_fraction) as u64;
        match damage {
            Damage::Truncate => {
                std::fs::OpenOptions::new().write(true).open(&tail).unwrap().set_len(cut).unwrap();
            }
            Damage::Flip(mask) => {
                let mut bytes = std::fs::read(&tail).unwrap();
                bytes[cut as usize] ^= mask;
                std::fs::write(&tail, bytes).unwrap();
            }
        }
        let intact = ends.iter().filter(|&&end| end <= cut).count();
        let log = open(dir.path(), options(1, 1 << 30));
        let recovered = replay(&log, 0, 0);
        prop_assert_eq!(recovered.len(), intact);
        for (offset, bytes) in &recovered {
            prop_assert_eq!(bytes, &written[*offset as usize]);
        }
        let next = log.append_blocking(0, vec![b"fresh".to_vec()]).unwrap();
        prop_assert_eq!(next.locations[0].offset, intact as u64);
        drop(log);
        let log = open(dir.path(), options(1, 1 << 30));
        let again = replay(&log, 0, 0);
        prop_assert_eq!(again.len(), intact + 1);
        prop_assert_eq!(&again[intact].1, &b"fresh".to_vec());
    }
}
