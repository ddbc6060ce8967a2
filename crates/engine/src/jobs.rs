//! A back-fill in progress: reads the log up to a cut, one chunk at a time,
//! so live events keep flowing between chunks.

use percorso_collect::Collector;
use percorso_log::PartitionReader;

use crate::definitions::BackfillProgress;
use crate::input::Record;
use crate::runner::Shared;

const CHUNK: usize = 2_000;

#[derive(Debug)]
pub(crate) struct BackfillJob {
    pub name: String,
    cut: Vec<u64>,
    partition: usize,
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
            reader: None,
            read: 0,
            total,
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
        while records.len() < CHUNK {
            let Some(&cut) = self.cut.get(self.partition) else {
                break;
            };
            let partition = self.partition as u16;
            if self.reader.is_none() {
                match collector.log().reader(partition, 0) {
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
                    match Record::decode(location, &record.payload) {
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
        let mut book = shared.book();
        for record in &records {
            book.backfill(&self.name, record, now);
        }
        self.partition >= self.cut.len()
    }

    fn next_partition(&mut self) {
        self.partition += 1;
        self.reader = None;
    }
}
