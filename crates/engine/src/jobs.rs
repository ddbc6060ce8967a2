//! A back-fill in progress: reads the log up to a cut, one chunk at a time,
//! so live events keep flowing between chunks.

use percorso_collect::Collector;
use percorso_log::PartitionReader;

use crate::checkpoint::BackfillCursor;
use crate::definitions::BackfillProgress;
use crate::input::Record;
use crate::runner::Shared;

const CHUNK: usize = 2_000;

#[derive(Debug)]
pub(crate) struct BackfillJob {
    pub name: String,
    cut: Vec<u64>,
    partition: usize,
    /// The next offset to read in `partition`.
    offset: u64,
    reader: Option<PartitionReader>,
    pub read: u64,
    total: u64,
}

impl BackfillJob {
    pub fn new(name: String, cut: Vec<u64>) -> Self {
        let total = cut.iter().sum();
        Self {
            name,
            cut,
            partition: 0,
            offset: 0,
            reader: None,
            read: 0,
            total,
        }
    }

    /// Goes on from where a checkpoint left a back-fill.
    pub fn resume(cursor: BackfillCursor) -> Self {
        Self {
            partition: cursor.partition,
            offset: cursor.offset,
            read: cursor.read,
            ..Self::new(cursor.name, cursor.cut)
        }
    }

    pub fn cursor(&self) -> BackfillCursor {
        BackfillCursor {
            name: self.name.clone(),
            cut: self.cut.clone(),
            partition: self.partition,
            offset: self.offset,
            read: self.read,
        }
    }

    pub fn progress(&self) -> BackfillProgress {
        BackfillProgress {
            read: self.read,
            total: self.total,
        }
    }

    /// Reads and applies one chunk; returns whether the job is done.
    pub fn step(&mut self, collector: &Collector, shared: &Shared, now: i64) -> bool {
        let mut records = Vec::with_capacity(CHUNK);
        let projection = shared.book().definitions().projection.clone();
        while records.len() < CHUNK {
            let Some(&cut) = self.cut.get(self.partition) else {
                break;
            };
            let partition = self.partition as u16;
            if self.reader.is_none() {
                match collector.log().reader(partition, self.offset) {
                    Ok(reader) => self.reader = Some(reader),
                    Err(e) => {
                        tracing::error!(partition, error = %e, "back-fill cannot read partition");
                        self.next_partition();
                        continue;
                    }
                }
            }
            let next = self.reader.as_mut().and_then(Iterator::next);
            match next {
                Some(Ok((record, location))) if location.offset < cut => {
                    self.read += 1;
                    self.offset = location.offset + 1;
                    match Record::decode(location, &record.payload, &projection) {
                        Ok(decoded) => records.extend(decoded),
                        Err(reason) => {
                            tracing::error!(?location, reason, "back-fill skipped a record")
                        }
                    }
                }
                Some(Err(e)) => {
                    tracing::error!(partition, error = %e, "back-fill stopped reading partition");
                    self.next_partition();
                }
                _ => self.next_partition(),
            }
        }
        shared.book().backfill(&self.name, &records, now);
        self.partition >= self.cut.len()
    }

    fn next_partition(&mut self) {
        self.partition += 1;
        self.offset = 0;
        self.reader = None;
    }
}
