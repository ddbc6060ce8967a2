//! One partition: its writer thread (group commit) and the state readers share.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::Instant;

use tokio::sync::oneshot;

use crate::erasure::ErasedOffsets;
use crate::error::LogError;
use crate::frame::{self, Decoded, HEADER_BYTES, MAX_PAYLOAD_BYTES};
use crate::segment::segment_path;

/// Where a record lives, so it can be read back without a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordLocation {
    pub partition: u16,
    pub offset: u64,
    /// Base offset of the segment holding the record.
    pub segment: u64,
    /// Byte position of the record in that segment.
    pub position: u64,
}

/// The answer to an append: every record is durable.
#[derive(Debug)]
pub struct AppendReceipt {
    pub partition: u16,
    /// One per appended record, in the order given.
    pub locations: Vec<RecordLocation>,
    /// The appended payloads, handed back: a caller that passes them on
    /// (say to the profile engine) need not have copied them first.
    pub payloads: Vec<Vec<u8>>,
}

pub(crate) struct AppendRequest {
    pub payloads: Vec<Vec<u8>>,
    pub reply: oneshot::Sender<Result<AppendReceipt, LogError>>,
}

/// State of a partition that readers and the writer share.
#[derive(Debug)]
pub(crate) struct PartitionShared {
    pub id: u16,
    pub dir: PathBuf,
    /// Records with an offset below this are durable and may be read.
    pub committed: AtomicU64,
    /// Segment base offsets, ascending.
    pub segments: RwLock<Vec<u64>>,
    read_handles: Mutex<HashMap<u64, Arc<File>>>,
    /// Why the writer stopped accepting appends, if it did.
    pub poisoned: Mutex<Option<String>>,
    /// Records erased for privacy: read back with an empty payload.
    pub erased: Arc<ErasedOffsets>,
}

impl PartitionShared {
    pub(crate) fn new(
        id: u16,
        dir: PathBuf,
        segments: Vec<u64>,
        committed: u64,
        erased: Arc<ErasedOffsets>,
    ) -> Self {
        Self {
            id,
            dir,
            committed: AtomicU64::new(committed),
            segments: RwLock::new(segments),
            read_handles: Mutex::new(HashMap::new()),
            poisoned: Mutex::new(None),
            erased,
        }
    }

    pub(crate) fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    fn handle(&self, segment: u64) -> Result<Arc<File>, LogError> {
        let mut handles = self.read_handles.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = handles.get(&segment) {
            return Ok(file.clone());
        }
        let path = segment_path(&self.dir, segment);
        let file = Arc::new(File::open(&path).map_err(LogError::io(&path))?);
        handles.insert(segment, file.clone());
        Ok(file)
    }

    /// Reads one durable record by its location, verifying its checksum and offset.
    pub(crate) fn read_at(&self, location: RecordLocation) -> Result<Vec<u8>, LogError> {
        if location.offset >= self.committed() {
            return Err(LogError::OffsetOutOfRange {
                partition: self.id,
                offset: location.offset,
                end: self.committed(),
            });
        }
        if self.erased.contains(location.offset) {
            return Ok(Vec::new());
        }
        let file = self.handle(location.segment)?;
        let path = || segment_path(&self.dir, location.segment);
        let mut header = [0u8; HEADER_BYTES];
        file.read_exact_at(&mut header, location.position)
            .map_err(|e| LogError::io(path())(e))?;
        let len = u32::from_le_bytes(header[0..4].try_into().unwrap_or_default()) as usize;
        let corrupt = |reason: &str| LogError::Corrupt {
            location: format!("{location:?}"),
            reason: reason.to_owned(),
        };
        if len > MAX_PAYLOAD_BYTES {
            return Err(corrupt("length field exceeds the record size limit"));
        }
        let mut buf = vec![0u8; HEADER_BYTES + len];
        file.read_exact_at(&mut buf, location.position)
            .map_err(|e| LogError::io(path())(e))?;
        match frame::decode(&buf) {
            Decoded::Record {
                offset, payload, ..
            } if offset == location.offset => Ok(payload.to_vec()),
            Decoded::Record { .. } => Err(corrupt("a different record is stored there")),
            // Erased while we read: the overwrite may have been half done.
            _ if self.erased.contains(location.offset) => Ok(Vec::new()),
            Decoded::Invalid(reason) => Err(corrupt(reason)),
            Decoded::Incomplete { .. } => Err(corrupt("record is cut short")),
        }
    }
}

/// Largest group written with one fsync; bounds the write buffer.
pub(crate) const MAX_GROUP_BYTES: usize = 16 << 20;

/// The single writer of a partition. Runs on its own thread.
pub(crate) struct PartitionWriter {
    shared: Arc<PartitionShared>,
    file: File,
    segment: u64,
    segment_len: u64,
    next_offset: u64,
    segment_bytes: u64,
    poisoned: Option<String>,
    buf: Vec<u8>,
}

impl PartitionWriter {
    /// Opens the tail segment for appending at `segment_len`.
    pub(crate) fn open(
        shared: Arc<PartitionShared>,
        segment: u64,
        segment_len: u64,
        next_offset: u64,
        segment_bytes: u64,
    ) -> Result<Self, LogError> {
        let path = segment_path(&shared.dir, segment);
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(LogError::io(&path))?;
        file.seek(SeekFrom::Start(segment_len))
            .map_err(LogError::io(&path))?;
        Ok(Self {
            shared,
            file,
            segment,
            segment_len,
            next_offset,
            segment_bytes,
            poisoned: None,
            buf: Vec::with_capacity(1 << 20),
        })
    }

    /// Serves append requests until every sender is gone.
    pub(crate) fn run(mut self, requests: mpsc::Receiver<AppendRequest>) {
        while let Ok(first) = requests.recv() {
            let mut group_bytes = first.payloads.iter().map(Vec::len).sum::<usize>();
            let mut group = vec![first];
            while group_bytes < MAX_GROUP_BYTES {
                let Ok(next) = requests.try_recv() else { break };
                group_bytes += next.payloads.iter().map(Vec::len).sum::<usize>();
                group.push(next);
            }
            self.commit_group(group);
        }
    }

    fn commit_group(&mut self, group: Vec<AppendRequest>) {
        if let Some(reason) = &self.poisoned {
            for request in group {
                let _ = request.reply.send(Err(LogError::Poisoned(reason.clone())));
            }
            return;
        }
        let result = self.write_group(&group);
        let mut next = 0usize;
        for request in group {
            let answer = match &result {
                Ok(locations) => {
                    let end = next + request.payloads.len();
                    let receipt = AppendReceipt {
                        partition: self.shared.id,
                        locations: locations[next..end].to_vec(),
                        payloads: request.payloads,
                    };
                    next = end;
                    Ok(receipt)
                }
                Err(reason) => Err(LogError::Poisoned(reason.clone())),
            };
            // The caller may have gone away; the data is durable regardless.
            let _ = request.reply.send(answer);
        }
    }

    /// Writes and syncs a whole group; on failure the partition is poisoned,
    /// because after a failed fsync the kernel may have dropped the pages and
    /// retrying could acknowledge data that is not on disk.
    fn write_group(&mut self, group: &[AppendRequest]) -> Result<Vec<RecordLocation>, String> {
        if self.segment_len >= self.segment_bytes {
            self.roll().map_err(|e| self.poison(e.to_string()))?;
        }
        self.buf.clear();
        let mut locations = Vec::new();
        let mut offset = self.next_offset;
        for payload in group.iter().flat_map(|r| &r.payloads) {
            locations.push(RecordLocation {
                partition: self.shared.id,
                offset,
                segment: self.segment,
                position: self.segment_len + self.buf.len() as u64,
            });
            frame::encode(offset, payload, &mut self.buf);
            offset += 1;
        }
        let started = Instant::now();
        let written = self
            .file
            .write_all(&self.buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            return Err(self.poison(format!("partition {}: {e}", self.shared.id)));
        }
        metrics::histogram!("percorso_log_fsync_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("percorso_log_group_records").record(locations.len() as f64);
        self.segment_len += self.buf.len() as u64;
        self.next_offset = offset;
        self.shared.committed.store(offset, Ordering::Release);
        Ok(locations)
    }

    fn poison(&mut self, reason: String) -> String {
        tracing::error!(partition = self.shared.id, %reason, "log write failed; partition stops accepting writes");
        self.poisoned = Some(reason.clone());
        *self
            .shared
            .poisoned
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(reason.clone());
        reason
    }

    fn roll(&mut self) -> Result<(), LogError> {
        let base = self.next_offset;
        let path = segment_path(&self.shared.dir, base);
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(LogError::io(&path))?;
        sync_dir(&self.shared.dir)?;
        self.file = file;
        self.segment = base;
        self.segment_len = 0;
        self.shared
            .segments
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(base);
        Ok(())
    }
}

/// Makes a file creation or removal in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(LogError::io(dir))
}
