//! Erasing records in place: gone for readers and on disk, offsets kept,
//! and a torn overwrite is finished on the next open instead of being
//! taken for damage.

use std::io::{Seek, SeekFrom, Write};

use percorso_log::{LogError, RecordLocation};

use super::{open, options, replay, tail_segment};

fn secret(i: usize) -> Vec<u8> {
    format!("{{\"email\":\"person{i}@example.com\"}}").into_bytes()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn segment_bytes(dir: &std::path::Path) -> Vec<u8> {
    std::fs::read(tail_segment(dir)).unwrap()
}

#[test]
fn erased_records_read_back_empty_keep_their_offsets_and_leave_no_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), options(1, 1 << 20));
    let receipt = log
        .append_blocking(0, (0..6).map(secret).collect())
        .unwrap();
    let erased: Vec<RecordLocation> = [1, 4].map(|i| receipt.locations[i]).to_vec();
    log.erase(&erased).unwrap();
    log.erase(&erased).unwrap(); // twice is harmless

    let expect = |i: usize| {
        if i == 1 || i == 4 {
            Vec::new()
        } else {
            secret(i)
        }
    };
    let read: Vec<(u64, Vec<u8>)> = replay(&log, 0, 0);
    assert_eq!(
        read,
        (0..6).map(|i| (i as u64, expect(i))).collect::<Vec<_>>()
    );
    assert!(log.read_at(receipt.locations[4]).unwrap().is_empty());
    assert_eq!(log.read_at(receipt.locations[3]).unwrap(), secret(3));
    let bytes = segment_bytes(dir.path());
    assert!(!contains(&bytes, b"person1@"), "erased bytes stay on disk");
    assert!(!contains(&bytes, b"person4@"), "erased bytes stay on disk");
    assert!(contains(&bytes, b"person3@"));

    // Later appends carry on numbering; a reopen still reads them erased.
    log.append_blocking(0, vec![secret(6)]).unwrap();
    assert!(matches!(
        log.append_blocking(0, vec![Vec::new()]),
        Err(LogError::EmptyRecord)
    ));
    drop(log);
    let log = open(dir.path(), options(1, 1 << 20));
    let read = replay(&log, 0, 0);
    assert_eq!(read.len(), 7);
    assert!(read[1].1.is_empty() && read[4].1.is_empty());
    assert_eq!(read[6].1, secret(6));
}

#[test]
fn a_torn_overwrite_is_finished_on_open_and_not_taken_for_damage() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), options(1, 1 << 20));
    let receipt = log
        .append_blocking(0, (0..4).map(secret).collect())
        .unwrap();
    let victim = receipt.locations[1];
    log.erase(&[victim]).unwrap();
    drop(log);
    // A crash halfway through the overwrite: old bytes back in the payload,
    // under the new checksum.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(tail_segment(dir.path()))
        .unwrap();
    file.seek(SeekFrom::Start(victim.position + 16)).unwrap();
    file.write_all(b"person1@example").unwrap();
    drop(file);

    let (log, report) = percorso_log::EventLog::open(
        dir.path(),
        options(1, 1 << 20),
        percorso_log::OpenMode::ReadWrite,
    )
    .unwrap();
    assert_eq!(report.partitions[0].truncated_bytes, 0, "{report:?}");
    let read = replay(&log, 0, 0);
    assert_eq!(read.len(), 4, "records after the erased one survive");
    assert!(read[1].1.is_empty());
    assert_eq!(read[3].1, secret(3));
    assert!(!contains(&segment_bytes(dir.path()), b"person1@"));
}
