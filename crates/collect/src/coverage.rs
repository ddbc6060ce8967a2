//! How far the event index covers each partition of the log: the offset
//! below which every record is filed. Appends to one partition complete in
//! any order, so what is filed beyond a gap waits until the gap closes.

use std::collections::BTreeMap;

use percorso_log::RecordLocation;

#[derive(Debug, Default, Clone)]
struct Partition {
    /// Every offset below is filed.
    below: u64,
    /// Filed runs beyond a gap: start → end.
    ahead: BTreeMap<u64, u64>,
}

impl Partition {
    fn add(&mut self, start: u64, end: u64) {
        if start > self.below {
            let entry = self.ahead.entry(start).or_insert(end);
            *entry = (*entry).max(end);
            return;
        }
        self.below = self.below.max(end);
        while let Some(entry) = self.ahead.first_entry() {
            if *entry.key() > self.below {
                break;
            }
            let end = entry.remove();
            self.below = self.below.max(end);
        }
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Coverage {
    partitions: Vec<Partition>,
}

impl Coverage {
    /// Starts from offsets known to be covered (read from the store).
    pub fn from_offsets(below: &[u64]) -> Self {
        Self {
            partitions: below
                .iter()
                .map(|&below| Partition {
                    below,
                    ahead: BTreeMap::new(),
                })
                .collect(),
        }
    }

    /// Marks the records as filed. They come as appended (a run of
    /// offsets in one partition), so they are taken run by run as they
    /// are, without sorting; any order is still counted right.
    pub fn add(&mut self, records: &[RecordLocation]) {
        let runs = records.chunk_by(|a, b| a.partition == b.partition && b.offset == a.offset + 1);
        for run in runs {
            let partition = usize::from(run[0].partition);
            if self.partitions.len() <= partition {
                self.partitions.resize(partition + 1, Partition::default());
            }
            self.partitions[partition].add(run[0].offset, run[run.len() - 1].offset + 1);
        }
    }

    /// Lowers the coverage to the log's end offsets: a log whose damaged
    /// tail was set aside at recovery ends below what was once filed, and
    /// new records will take those offsets.
    pub fn clamp(&mut self, ends: &[u64]) {
        for (partition, &end) in self.partitions.iter_mut().zip(ends) {
            partition.below = partition.below.min(end);
            partition.ahead.clear();
        }
    }

    /// Per partition, the offset below which every record is filed.
    pub fn below(&self) -> Vec<u64> {
        self.partitions.iter().map(|p| p.below).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(partition: u16, offsets: std::ops::Range<u64>) -> Vec<RecordLocation> {
        offsets
            .map(|offset| RecordLocation {
                partition,
                offset,
                segment: 0,
                position: offset,
            })
            .collect()
    }

    #[test]
    fn coverage_is_the_contiguous_prefix_of_what_was_filed() {
        let mut coverage = Coverage::from_offsets(&[0, 4]);
        coverage.add(&records(0, 5..8));
        assert_eq!(coverage.below(), [0, 4], "0..5 not filed yet");
        coverage.add(&records(0, 0..3));
        assert_eq!(coverage.below(), [3, 4]);
        coverage.add(&records(0, 3..5));
        assert_eq!(coverage.below(), [8, 4], "the run beyond the gap joins");
        coverage.add(&records(1, 4..6));
        coverage.add(&records(2, 0..1));
        assert_eq!(coverage.below(), [8, 6, 1]);
        coverage.clamp(&[5, 9, 1]);
        assert_eq!(coverage.below(), [5, 6, 1]);
    }
}
