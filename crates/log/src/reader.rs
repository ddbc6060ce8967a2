//! Replaying a partition in offset order.

use std::sync::Arc;

use crate::error::LogError;
use crate::frame::Record;
use crate::partition::{PartitionShared, RecordLocation};
use crate::segment::{segment_path, Frame, FrameReader};

/// Iterates the records of one partition from a starting offset, up to the
/// end known when it was created. In a log opened for writing that end is
/// the durable one, so it never sees a record whose append has not been
/// acknowledged. A log opened read-only beside another process's writer
/// cannot know what that writer has synced: it sees every intact record
/// written so far, which may include some still being fsynced.
#[derive(Debug)]
pub struct PartitionReader {
    shared: Arc<PartitionShared>,
    segments: Vec<u64>,
    /// Index into `segments` of the segment being read.
    current: usize,
    frames: Option<FrameReader>,
    next_offset: u64,
    end: u64,
}

impl PartitionReader {
    pub(crate) fn new(shared: Arc<PartitionShared>, offset: u64) -> Result<Self, LogError> {
        let end = shared.committed();
        if offset > end {
            return Err(LogError::OffsetOutOfRange {
                partition: shared.id,
                offset,
                end,
            });
        }
        let segments = shared
            .segments
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        // The segment holding `offset` is the last one starting at or before it.
        let current = segments
            .partition_point(|&base| base <= offset)
            .saturating_sub(1);
        Ok(Self {
            shared,
            segments,
            current,
            frames: None,
            next_offset: offset,
            end,
        })
    }

    /// Offset of the record the next call returns.
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    fn next_record(&mut self) -> Result<Option<(Record, RecordLocation)>, LogError> {
        while self.next_offset < self.end {
            let Some(&segment) = self.segments.get(self.current) else {
                return Ok(None);
            };
            // Named only when needed: building the path for every record
            // was a tenth of the cost of reading one.
            let path = || segment_path(&self.shared.dir, segment);
            if self.frames.is_none() {
                self.frames = Some(FrameReader::open(&path(), self.shared.erased.clone())?);
            }
            let frames = self.frames.as_mut().ok_or(LogError::Closed)?;
            let frame = frames
                .next_frame()
                .map_err(|source| LogError::io(path())(source))?;
            match frame {
                Frame::Record {
                    offset,
                    payload,
                    position,
                } => {
                    if offset < self.next_offset {
                        continue; // before the requested start
                    }
                    if offset != self.next_offset {
                        return Err(LogError::Corrupt {
                            location: format!("{}@{position}", path().display()),
                            reason: format!("expected offset {}, found {offset}", self.next_offset),
                        });
                    }
                    self.next_offset += 1;
                    let location = RecordLocation {
                        partition: self.shared.id,
                        offset,
                        segment,
                        position,
                    };
                    return Ok(Some((Record { offset, payload }, location)));
                }
                Frame::End => {
                    self.current += 1;
                    self.frames = None;
                }
                Frame::Torn | Frame::Invalid(_) if self.current + 1 == self.segments.len() => {
                    // Only reachable in read-only mode beside a live writer:
                    // the tail is still being written.
                    return Ok(None);
                }
                Frame::Torn => {
                    return Err(LogError::Corrupt {
                        location: path().display().to_string(),
                        reason: "segment ends inside a record".to_owned(),
                    });
                }
                Frame::Invalid(reason) => {
                    return Err(LogError::Corrupt {
                        location: path().display().to_string(),
                        reason: reason.to_owned(),
                    });
                }
            }
        }
        Ok(None)
    }
}

impl Iterator for PartitionReader {
    type Item = Result<(Record, RecordLocation), LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}
