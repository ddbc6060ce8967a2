//! Erasing records in place, for privacy requests.
//!
//! An erased record keeps its frame — same length, same offset — so every
//! later position and offset stays where it was; its payload becomes zeros
//! under a fresh checksum, and readers return it with an empty payload.
//!
//! Overwriting a frame is not atomic, and a torn overwrite would look like
//! damage (recovery cuts the tail at the first damaged record). So each
//! erasure is first made durable in a ledger beside the partitions; the
//! ledger is loaded before anything reads a segment, its offsets count as
//! erased whatever the bytes say, and on a read-write open every entry is
//! overwritten again (the overwrite is idempotent).

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::error::LogError;
use crate::frame::{self, HEADER_BYTES};
use crate::partition::{PartitionShared, RecordLocation};
use crate::segment::segment_path;

const LEDGER: &str = "erasures.ledger";
const ENTRY_BYTES: usize = 40;

/// Offsets of one partition's erased records.
#[derive(Debug, Default)]
pub(crate) struct ErasedOffsets(RwLock<HashSet<u64>>);

impl ErasedOffsets {
    pub(crate) fn contains(&self, offset: u64) -> bool {
        let set = self.0.read().unwrap_or_else(|e| e.into_inner());
        !set.is_empty() && set.contains(&offset)
    }

    pub(crate) fn insert(&self, offset: u64) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(offset);
    }
}

/// One ledger entry: which frame, and how long its payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Erasure {
    pub location: RecordLocation,
    pub len: u32,
}

impl Erasure {
    fn encode(&self) -> [u8; ENTRY_BYTES] {
        let mut out = [0u8; ENTRY_BYTES];
        out[0..2].copy_from_slice(&self.location.partition.to_le_bytes());
        out[4..8].copy_from_slice(&self.len.to_le_bytes());
        out[8..16].copy_from_slice(&self.location.offset.to_le_bytes());
        out[16..24].copy_from_slice(&self.location.segment.to_le_bytes());
        out[24..32].copy_from_slice(&self.location.position.to_le_bytes());
        let crc = crc32c::crc32c(&out[0..32]);
        out[32..36].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let field = |range: std::ops::Range<usize>| bytes.get(range);
        let crc = u32::from_le_bytes(field(32..36)?.try_into().ok()?);
        if crc32c::crc32c(field(0..32)?) != crc {
            return None;
        }
        let u64_at = |at: usize| -> Option<u64> {
            Some(u64::from_le_bytes(field(at..at + 8)?.try_into().ok()?))
        };
        Some(Self {
            location: RecordLocation {
                partition: u16::from_le_bytes(field(0..2)?.try_into().ok()?),
                offset: u64_at(8)?,
                segment: u64_at(16)?,
                position: u64_at(24)?,
            },
            len: u32::from_le_bytes(field(4..8)?.try_into().ok()?),
        })
    }
}

pub(crate) fn ledger_path(dir: &Path) -> PathBuf {
    dir.join(LEDGER)
}

/// Every complete entry of the ledger. A torn last entry (a crash while it
/// was written, before anything was overwritten) is cut off in read-write
/// mode so later entries line up.
pub(crate) fn load_ledger(dir: &Path, writable: bool) -> Result<Vec<Erasure>, LogError> {
    let path = ledger_path(dir);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LogError::io(&path)(e)),
    };
    let mut entries = Vec::new();
    for chunk in bytes.chunks(ENTRY_BYTES) {
        match Erasure::decode(chunk) {
            Some(entry) if chunk.len() == ENTRY_BYTES => entries.push(entry),
            _ => break,
        }
    }
    let valid = (entries.len() * ENTRY_BYTES) as u64;
    if writable && valid < bytes.len() as u64 {
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(LogError::io(&path))?;
        file.set_len(valid)
            .and_then(|()| file.sync_all())
            .map_err(LogError::io(&path))?;
    }
    Ok(entries)
}

/// Appends entries and syncs them: from here on the records count as erased.
pub(crate) fn append_ledger(dir: &Path, entries: &[Erasure]) -> Result<(), LogError> {
    let path = ledger_path(dir);
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(LogError::io(&path))?;
    let bytes: Vec<u8> = entries.iter().flat_map(Erasure::encode).collect();
    file.write_all(&bytes)
        .and_then(|()| file.sync_data())
        .map_err(LogError::io(&path))?;
    Ok(())
}

/// Writes the erased form of frames over them, one open file per segment,
/// then syncs those files.
#[derive(Default)]
struct Overwriter {
    files: HashMap<PathBuf, File>,
}

impl Overwriter {
    fn write(&mut self, partition_dir: &Path, entry: &Erasure) -> Result<(), LogError> {
        let path = segment_path(partition_dir, entry.location.segment);
        let file = match self.files.entry(path.clone()) {
            std::collections::hash_map::Entry::Occupied(open) => open.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => slot.insert(
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(LogError::io(&path))?,
            ),
        };
        let mut frame_bytes = Vec::with_capacity(HEADER_BYTES + entry.len as usize);
        frame::encode(
            entry.location.offset,
            &vec![0u8; entry.len as usize],
            &mut frame_bytes,
        );
        file.write_all_at(&frame_bytes, entry.location.position)
            .map_err(LogError::io(&path))
    }

    fn sync(self) -> Result<(), LogError> {
        for (path, file) in self.files {
            file.sync_data().map_err(LogError::io(&path))?;
        }
        Ok(())
    }
}

/// The erased offsets of partition `id`; in read-write mode each ledger
/// entry is overwritten again (a crash may have cut the first overwrite).
pub(crate) fn restore(
    partition_dir: &Path,
    id: u16,
    ledger: &[Erasure],
    writable: bool,
) -> Result<Arc<ErasedOffsets>, LogError> {
    let erased = Arc::new(ErasedOffsets::default());
    let mut overwriter = Overwriter::default();
    for entry in ledger.iter().filter(|e| e.location.partition == id) {
        erased.insert(entry.location.offset);
        if writable {
            overwriter.write(partition_dir, entry)?;
        }
    }
    overwriter.sync()?;
    Ok(erased)
}

/// Erases records of the given partitions (`partitions[i]` holds
/// `locations[i]`): ledger first, then the overwrite.
pub(crate) fn erase(
    log_dir: &Path,
    partitions: &[Arc<PartitionShared>],
    locations: &[RecordLocation],
) -> Result<(), LogError> {
    let mut entries = Vec::new();
    for (shared, location) in partitions.iter().zip(locations) {
        if shared.erased.contains(location.offset) {
            continue;
        }
        // Reading it back checks that the record is there, durable and
        // intact, and gives its length.
        let len = shared.read_at(*location)?.len() as u32;
        entries.push((
            shared,
            Erasure {
                location: *location,
                len,
            },
        ));
    }
    if entries.is_empty() {
        return Ok(());
    }
    let ledger: Vec<Erasure> = entries.iter().map(|(_, e)| *e).collect();
    append_ledger(log_dir, &ledger)?;
    let mut overwriter = Overwriter::default();
    for (shared, entry) in &entries {
        // Marked before the bytes change, so no reader sees a half-written frame as damage.
        shared.erased.insert(entry.location.offset);
        overwriter.write(&shared.dir, entry)?;
    }
    overwriter.sync()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_entries_round_trip_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |offset| Erasure {
            location: RecordLocation {
                partition: 3,
                offset,
                segment: 100,
                position: 4096 + offset,
            },
            len: 77,
        };
        append_ledger(dir.path(), &[entry(1), entry(2)]).unwrap();
        let path = ledger_path(dir.path());
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&entry(3).encode()[..17]).unwrap();
        assert_eq!(
            load_ledger(dir.path(), false).unwrap(),
            [entry(1), entry(2)]
        );
        assert_eq!(load_ledger(dir.path(), true).unwrap(), [entry(1), entry(2)]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 80);
        append_ledger(dir.path(), &[entry(4)]).unwrap();
        assert_eq!(
            load_ledger(dir.path(), true).unwrap(),
            [entry(1), entry(2), entry(4)]
        );
    }
}
