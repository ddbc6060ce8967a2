//! The partitioned log: opening and recovery, routing, appends, reads.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::erasure;
use crate::error::LogError;
use crate::frame::MAX_PAYLOAD_BYTES;
use crate::partition::{
    sync_dir, AppendReceipt, AppendRequest, PartitionShared, PartitionWriter, RecordLocation,
};
use crate::reader::PartitionReader;
use crate::recovery::recover_tail;
use crate::segment::list_segments;

/// How a log is laid out when it is first created.
#[derive(Debug, Clone, Copy)]
pub struct LogOptions {
    /// Fixed at creation; a reopened log keeps its own count.
    pub partitions: u16,
    /// A segment is closed and a new one started past this size.
    pub segment_bytes: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            partitions: std::thread::available_parallelism()
                .map(|n| n.get().min(u16::MAX as usize) as u16)
                .unwrap_or(1),
            segment_bytes: 256 << 20,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Recover (truncate a torn tail) and start a writer per partition.
    ReadWrite,
    /// Read what is intact; change nothing on disk. Safe beside a running writer.
    ReadOnly,
}

pub use crate::recovery::PartitionRecovery;

#[derive(Debug, Clone, Serialize)]
pub struct RecoveryReport {
    pub partitions: Vec<PartitionRecovery>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LogMeta {
    version: u32,
    partitions: u16,
}

/// The durable partitioned log. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct EventLog {
    dir: PathBuf,
    partitions: Vec<Arc<PartitionShared>>,
    senders: Mutex<Vec<mpsc::Sender<AppendRequest>>>,
    writers: Mutex<Vec<JoinHandle<()>>>,
}

impl EventLog {
    pub fn open(
        dir: &Path,
        options: LogOptions,
        mode: OpenMode,
    ) -> Result<(Self, RecoveryReport), LogError> {
        if mode == OpenMode::ReadWrite {
            create_dir_durably(dir)?;
        }
        let partition_count = read_or_create_meta(dir, options.partitions, mode)?;
        let mut partitions = Vec::new();
        let mut senders = Vec::new();
        let mut writers = Vec::new();
        let mut report = RecoveryReport {
            partitions: Vec::new(),
        };
        let ledger = erasure::load_ledger(dir, mode == OpenMode::ReadWrite)?;
        for id in 0..partition_count {
            let pdir = dir.join(format!("p{id:04}"));
            if mode == OpenMode::ReadWrite {
                create_dir_durably(&pdir)?;
            }
            let mut segments = if pdir.exists() {
                list_segments(&pdir)?
            } else {
                Vec::new()
            };
            // Before recovery looks at the tail: a torn overwrite must not
            // be taken for damage.
            let erased = erasure::restore(&pdir, id, &ledger, mode == OpenMode::ReadWrite)?;
            let (tail, tail_len, next_offset, recovery) =
                recover_tail(&pdir, id, &segments, mode, erased.clone())?;
            let created_first_segment = segments.is_empty() && mode == OpenMode::ReadWrite;
            if created_first_segment {
                segments.push(0);
            }
            report.partitions.push(recovery);
            let shared = Arc::new(PartitionShared::new(
                id,
                pdir,
                segments,
                next_offset,
                erased,
            ));
            if mode == OpenMode::ReadWrite {
                let writer = PartitionWriter::open(
                    shared.clone(),
                    tail,
                    tail_len,
                    next_offset,
                    options.segment_bytes,
                )?;
                if created_first_segment {
                    sync_dir(shared.dir.as_path())?;
                }
                let (tx, rx) = mpsc::channel();
                let thread = std::thread::Builder::new()
                    .name(format!("log-writer-{id}"))
                    .spawn(move || writer.run(rx))
                    .map_err(LogError::io(dir))?;
                senders.push(tx);
                writers.push(thread);
            }
            partitions.push(shared);
        }
        let log = Self {
            dir: dir.to_owned(),
            partitions,
            senders: Mutex::new(senders),
            writers: Mutex::new(writers),
        };
        Ok((log, report))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn partition_count(&self) -> u16 {
        self.partitions.len() as u16
    }

    /// The partition that owns `key`. Identity resolution decides which key
    /// (the profile key) an event is routed by; the log only hashes it.
    pub fn partition_for(&self, key: &[u8]) -> u16 {
        (xxhash_rust::xxh3::xxh3_64(key) % self.partitions.len() as u64) as u16
    }

    /// `Err` with the reason when a partition stopped accepting appends
    /// after a failed write or fsync.
    pub fn health(&self) -> Result<(), String> {
        for partition in &self.partitions {
            let poisoned = partition.poisoned.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(reason) = poisoned.as_ref() {
                return Err(reason.clone());
            }
        }
        Ok(())
    }

    /// Offset one past the last durable record of `partition`.
    pub fn end_offset(&self, partition: u16) -> Result<u64, LogError> {
        Ok(self.shared(partition)?.committed())
    }

    /// [`EventLog::end_offset`] of every partition, in order.
    pub fn end_offsets(&self) -> Result<Vec<u64>, LogError> {
        (0..self.partition_count())
            .map(|p| self.end_offset(p))
            .collect()
    }

    /// Appends records to one partition; the returned future resolves once
    /// they are durable. The records are queued when this is called, not
    /// when the future is first polled, so appends to several partitions
    /// can be started together and awaited in turn.
    pub fn append(
        &self,
        partition: u16,
        payloads: Vec<Vec<u8>>,
    ) -> impl std::future::Future<Output = Result<AppendReceipt, LogError>> + Send + 'static {
        let submitted = self.submit(partition, payloads);
        async move { submitted?.await.map_err(|_| LogError::Closed)? }
    }

    /// [`EventLog::append`] for callers outside an async runtime.
    pub fn append_blocking(
        &self,
        partition: u16,
        payloads: Vec<Vec<u8>>,
    ) -> Result<AppendReceipt, LogError> {
        let rx = self.submit(partition, payloads)?;
        rx.blocking_recv().map_err(|_| LogError::Closed)?
    }

    fn submit(
        &self,
        partition: u16,
        payloads: Vec<Vec<u8>>,
    ) -> Result<oneshot::Receiver<Result<AppendReceipt, LogError>>, LogError> {
        if let Some(big) = payloads.iter().find(|p| p.len() > MAX_PAYLOAD_BYTES) {
            return Err(LogError::RecordTooLarge(big.len()));
        }
        if payloads.iter().any(Vec::is_empty) {
            // An empty payload is how an erased record reads back.
            return Err(LogError::EmptyRecord);
        }
        let sender = {
            let senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
            self.shared(partition)?;
            senders
                .get(partition as usize)
                .cloned()
                .ok_or(LogError::Closed)?
        };
        let (reply, rx) = oneshot::channel();
        sender
            .send(AppendRequest { payloads, reply })
            .map_err(|_| LogError::Closed)?;
        Ok(rx)
    }

    /// Reads one durable record back by the location its append returned.
    pub fn read_at(&self, location: RecordLocation) -> Result<Vec<u8>, LogError> {
        self.shared(location.partition)?.read_at(location)
    }

    /// Erases durable records in place (privacy): once this returns, they
    /// read back with an empty payload, now and after any restart, and
    /// their bytes on disk are zeros. Offsets and positions do not move.
    /// Erasing a record twice is harmless.
    pub fn erase(&self, locations: &[RecordLocation]) -> Result<(), LogError> {
        let partitions = locations
            .iter()
            .map(|l| self.shared(l.partition).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        erasure::erase(&self.dir, &partitions, locations)
    }

    /// Replays `partition` from `offset` up to the records durable now.
    pub fn reader(&self, partition: u16, offset: u64) -> Result<PartitionReader, LogError> {
        PartitionReader::new(self.shared(partition)?.clone(), offset)
    }

    /// Stops the writers after they answer every queued append.
    pub fn close(&self) {
        self.senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let writers = std::mem::take(&mut *self.writers.lock().unwrap_or_else(|e| e.into_inner()));
        for writer in writers {
            let _ = writer.join();
        }
    }

    fn shared(&self, partition: u16) -> Result<&Arc<PartitionShared>, LogError> {
        self.partitions
            .get(partition as usize)
            .ok_or(LogError::NoSuchPartition(partition))
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// Creates `dir` if missing and syncs its parent, so the new entry survives
/// a power cut along with the files later written into it.
fn create_dir_durably(dir: &Path) -> Result<(), LogError> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(LogError::io(dir))?;
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

fn read_or_create_meta(dir: &Path, partitions: u16, mode: OpenMode) -> Result<u16, LogError> {
    let path = dir.join("meta.json");
    let bad = |reason: String| LogError::Meta {
        path: path.clone(),
        reason,
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let meta: LogMeta = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
            if meta.partitions == 0 {
                return Err(bad("partition count is 0".into()));
            }
            Ok(meta.partitions)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && mode == OpenMode::ReadWrite => {
            if partitions == 0 {
                return Err(bad("partition count must be at least 1".into()));
            }
            let meta = LogMeta {
                version: 1,
                partitions,
            };
            let tmp = dir.join("meta.json.tmp");
            let body = serde_json::to_vec_pretty(&meta).map_err(|e| bad(e.to_string()))?;
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&tmp)
                .map_err(LogError::io(&tmp))?;
            std::io::Write::write_all(&mut &file, &body)
                .and_then(|()| file.sync_all())
                .map_err(LogError::io(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(LogError::io(&path))?;
            sync_dir(dir)?;
            Ok(partitions)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(bad("no log here yet (nothing has been written)".into()))
        }
        Err(e) => Err(LogError::io(&path)(e)),
    }
}
