//! Recovery of a partition's tail segment on open.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use serde::Serialize;

use crate::erasure::ErasedOffsets;

use crate::error::LogError;
use crate::event_log::OpenMode;
use crate::partition::{sync_dir, MAX_GROUP_BYTES};
use crate::segment::{scan, segment_path};

/// What recovery found in one partition.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionRecovery {
    pub partition: u16,
    pub next_offset: u64,
    /// Bytes cut from the tail segment because they did not hold valid records.
    pub truncated_bytes: u64,
    pub damage: Option<String>,
    /// Where the cut bytes were kept.
    pub set_aside: Option<PathBuf>,
}

/// Scans the tail segment and, in read-write mode, cuts off whatever follows
/// the last valid record. Earlier segments were synced before the tail was
/// created, so only the tail can hold a torn write. The cut bytes are first
/// copied beside the segment: a torn write is worthless, but damage in the
/// middle of the tail would otherwise take acknowledged records with it.
///
/// Returns the tail's base offset, its valid length, the next offset, and
/// the report.
pub(crate) fn recover_tail(
    dir: &Path,
    partition: u16,
    segments: &[u64],
    mode: OpenMode,
    erased: Arc<ErasedOffsets>,
) -> Result<(u64, u64, u64, PartitionRecovery), LogError> {
    let Some(&tail) = segments.last() else {
        let recovery = PartitionRecovery {
            partition,
            next_offset: 0,
            truncated_bytes: 0,
            damage: None,
            set_aside: None,
        };
        return Ok((0, 0, 0, recovery));
    };
    let path = segment_path(dir, tail);
    let outcome = scan(&path, tail, erased)?;
    let file_len = std::fs::metadata(&path).map_err(LogError::io(&path))?.len();
    let truncated_bytes = file_len - outcome.valid_bytes;
    let mut set_aside = None;
    if truncated_bytes > 0 && mode == OpenMode::ReadWrite {
        let kept = keep_cut_bytes(&path, outcome.valid_bytes)?;
        let damage = outcome.damage.unwrap_or("trailing bytes");
        // One group is written at a time, so a torn write is at most one
        // group long; more than that is damage, not a crash.
        if truncated_bytes > (MAX_GROUP_BYTES as u64) * 2 {
            tracing::error!(partition, segment = %path.display(), truncated_bytes, damage, kept = %kept.display(),
                "the log tail is damaged beyond a torn write; records after the damage were set aside");
        } else {
            tracing::warn!(partition, segment = %path.display(), truncated_bytes, damage, kept = %kept.display(),
                "recovery truncated a torn write at the log tail");
        }
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(LogError::io(&path))?;
        file.set_len(outcome.valid_bytes)
            .and_then(|()| file.sync_all())
            .map_err(LogError::io(&path))?;
        set_aside = Some(kept);
    }
    let recovery = PartitionRecovery {
        partition,
        next_offset: outcome.next_offset,
        truncated_bytes,
        damage: outcome.damage.map(str::to_owned),
        set_aside,
    };
    Ok((tail, outcome.valid_bytes, outcome.next_offset, recovery))
}

/// Copies `segment[from..]` to `<segment>.cut-<from>` and makes it durable.
fn keep_cut_bytes(segment: &Path, from: u64) -> Result<PathBuf, LogError> {
    let mut cut = segment.as_os_str().to_owned();
    cut.push(format!(".cut-{from}"));
    let cut = PathBuf::from(cut);
    let mut source = OpenOptions::new()
        .read(true)
        .open(segment)
        .map_err(LogError::io(segment))?;
    let mut bytes = Vec::new();
    source
        .seek(SeekFrom::Start(from))
        .and_then(|_| source.read_to_end(&mut bytes))
        .map_err(LogError::io(segment))?;
    let mut target = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&cut)
        .map_err(LogError::io(&cut))?;
    target
        .write_all(&bytes)
        .and_then(|()| target.sync_all())
        .map_err(LogError::io(&cut))?;
    if let Some(dir) = segment.parent() {
        sync_dir(dir)?;
    }
    Ok(cut)
}
