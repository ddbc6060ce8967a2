//! Segment files: naming, listing, and sequential framed reading.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::erasure::ErasedOffsets;
use crate::error::LogError;
use crate::frame::{self, Decoded, HEADER_BYTES, MAX_PAYLOAD_BYTES};

const SUFFIX: &str = ".log";

/// A segment is named by the offset of its first record, zero-padded so
/// names sort in offset order.
pub(crate) fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}{SUFFIX}"))
}

/// Base offsets of the segments in `dir`, ascending.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<u64>, LogError> {
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(LogError::io(dir))? {
        let entry = entry.map_err(LogError::io(dir))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
            continue;
        };
        if let Ok(base) = stem.parse::<u64>() {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// What the next bytes of a segment hold.
#[derive(Debug)]
pub(crate) enum Frame {
    Record {
        offset: u64,
        payload: Vec<u8>,
        /// Position of the record's first byte in the segment.
        position: u64,
    },
    /// The file ends exactly at a record boundary.
    End,
    /// The file ends inside a record: a write that did not finish.
    Torn,
    /// The bytes at the current position are not a valid record.
    Invalid(&'static str),
}

/// Reads framed records one after another from a segment file.
#[derive(Debug)]
pub(crate) struct FrameReader {
    inner: BufReader<File>,
    position: u64,
    scratch: Vec<u8>,
    erased: Arc<ErasedOffsets>,
}

impl FrameReader {
    pub(crate) fn open(path: &Path, erased: Arc<ErasedOffsets>) -> Result<Self, LogError> {
        let file = File::open(path).map_err(LogError::io(path))?;
        Ok(Self {
            inner: BufReader::with_capacity(1 << 20, file),
            position: 0,
            scratch: Vec::new(),
            erased,
        })
    }

    /// Position just after the last record returned.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    pub(crate) fn next_frame(&mut self) -> io::Result<Frame> {
        self.scratch.clear();
        self.scratch.resize(HEADER_BYTES, 0);
        let got = read_full(&mut self.inner, &mut self.scratch)?;
        if got == 0 {
            return Ok(Frame::End);
        }
        if got < HEADER_BYTES {
            return Ok(Frame::Torn);
        }
        let len = u32::from_le_bytes(self.scratch[0..4].try_into().unwrap_or_default()) as usize;
        if len > MAX_PAYLOAD_BYTES {
            return Ok(Frame::Invalid("length field exceeds the record size limit"));
        }
        self.scratch.resize(HEADER_BYTES + len, 0);
        let got = read_full(&mut self.inner, &mut self.scratch[HEADER_BYTES..])?;
        if got < len {
            return Ok(Frame::Torn);
        }
        let offset_field = u64::from_le_bytes(self.scratch[8..16].try_into().unwrap_or_default());
        if self.erased.contains(offset_field) {
            // The ledger says erased, whatever the bytes say: an overwrite
            // may have been torn, but it never changes the frame's length.
            let position = self.position;
            self.position += (HEADER_BYTES + len) as u64;
            return Ok(Frame::Record {
                offset: offset_field,
                payload: Vec::new(),
                position,
            });
        }
        match frame::decode(&self.scratch) {
            Decoded::Record {
                offset,
                payload,
                size,
            } => {
                let position = self.position;
                self.position += size as u64;
                Ok(Frame::Record {
                    offset,
                    payload: payload.to_vec(),
                    position,
                })
            }
            Decoded::Invalid(reason) => Ok(Frame::Invalid(reason)),
            Decoded::Incomplete { .. } => Ok(Frame::Torn),
        }
    }
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The valid prefix of a segment, as found by [`scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanOutcome {
    /// Offset the next record would get.
    pub next_offset: u64,
    /// Bytes of whole, valid, correctly numbered records.
    pub valid_bytes: u64,
    /// Why scanning stopped before the end of the file, if it did.
    pub damage: Option<&'static str>,
}

/// Validates a segment from its start: every record must be intact and
/// carry the next offset in sequence.
pub(crate) fn scan(
    path: &Path,
    base: u64,
    erased: Arc<ErasedOffsets>,
) -> Result<ScanOutcome, LogError> {
    let mut reader = FrameReader::open(path, erased)?;
    let mut next_offset = base;
    let mut valid_bytes = 0;
    let damage = loop {
        match reader.next_frame().map_err(LogError::io(path))? {
            Frame::Record { offset, .. } if offset == next_offset => {
                next_offset += 1;
                valid_bytes = reader.position();
            }
            Frame::Record { .. } => break Some("record offset out of sequence"),
            Frame::End => break None,
            Frame::Torn => break Some("torn write at the end of the segment"),
            Frame::Invalid(reason) => break Some(reason),
        }
    };
    Ok(ScanOutcome {
        next_offset,
        valid_bytes,
        damage,
    })
}
