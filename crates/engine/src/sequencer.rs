//! Puts appended records back in log order before the engine applies them.
//! The collector tells of each append as it completes, and two requests
//! appending to one partition can finish in either order; applying out of
//! order would make "every record below offset N is applied" untrue, and
//! a checkpoint at N would then skip, after a crash, the record that came
//! late. Records ahead of a gap wait for it; a gap that stays (an append
//! whose caller never reported it) is filled by reading the log itself.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::feed::Arrived;

/// Records ahead of the next offset of one partition, by offset.
type Waiting = BTreeMap<u64, Box<Arrived>>;

#[derive(Debug, Default)]
pub(crate) struct Sequencer {
    /// Per partition, the next offset to apply.
    next: Vec<u64>,
    /// Per partition, records ahead of `next`, and since when. Boxed: a
    /// record is a few hundred bytes, and appends finish out of order
    /// often enough that moving them through the map's nodes was a tenth
    /// of the engine thread's time.
    waiting: Vec<(Waiting, Option<Instant>)>,
}

impl Sequencer {
    /// Starts where the replay ended: records below `next` are applied.
    pub fn new(next: Vec<u64>) -> Self {
        let waiting = next.iter().map(|_| (BTreeMap::new(), None)).collect();
        Self { next, waiting }
    }

    /// Takes appended records; returns those now in order to apply.
    pub fn admit(&mut self, records: Vec<Arrived>) -> Vec<Arrived> {
        let mut ready = Vec::with_capacity(records.len());
        for record in records {
            let location = record.location();
            let partition = usize::from(location.partition);
            if partition >= self.next.len() {
                self.next.resize(partition + 1, 0);
                self.waiting.resize_with(partition + 1, Default::default);
            }
            let offset = location.offset;
            if offset < self.next[partition] {
                continue; // applied already (read by the start-up replay)
            }
            let (waiting, since) = &mut self.waiting[partition];
            if offset > self.next[partition] {
                waiting.insert(offset, Box::new(record));
                since.get_or_insert_with(Instant::now);
                continue;
            }
            ready.push(record);
            self.next[partition] += 1;
            while let Some(entry) = waiting.first_entry() {
                if *entry.key() != self.next[partition] {
                    break;
                }
                ready.push(*entry.remove());
                self.next[partition] += 1;
            }
            *since = (!waiting.is_empty()).then(Instant::now);
        }
        ready
    }

    /// Gaps that have lasted longer than `patience`: `(partition, from,
    /// to)`, the offsets to read from the log.
    pub fn stalled(&self, patience: Duration) -> Vec<(u16, u64, u64)> {
        (0u16..)
            .zip(&self.waiting)
            .filter_map(|(partition, (waiting, since))| {
                let late = since.is_some_and(|s| s.elapsed() >= patience);
                let (&first, _) = waiting.first_key_value()?;
                late.then(|| (partition, self.next[usize::from(partition)], first))
            })
            .collect()
    }

    /// Whether any record waits for a gap.
    pub fn is_waiting(&self) -> bool {
        self.waiting.iter().any(|(w, _)| !w.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use percorso_log::RecordLocation;

    fn record(partition: u16, offset: u64) -> Arrived {
        Arrived::read(
            RecordLocation {
                partition,
                offset,
                segment: 0,
                position: 0,
            },
            vec![1],
        )
    }

    fn offsets(records: &[Arrived]) -> Vec<u64> {
        records.iter().map(|r| r.location().offset).collect()
    }

    #[test]
    fn records_come_out_in_log_order_and_only_once() {
        let mut sequencer = Sequencer::new(vec![10, 0]);
        assert_eq!(
            offsets(&sequencer.admit(vec![record(0, 12), record(0, 13)])),
            [] as [u64; 0]
        );
        assert!(sequencer.is_waiting());
        assert_eq!(sequencer.stalled(Duration::ZERO), [(0, 10, 12)]);
        assert_eq!(
            offsets(&sequencer.admit(vec![record(0, 9), record(0, 10)])),
            [10]
        );
        assert_eq!(offsets(&sequencer.admit(vec![record(0, 11)])), [11, 12, 13]);
        assert!(!sequencer.is_waiting());
        assert_eq!(
            offsets(&sequencer.admit(vec![record(1, 0), record(0, 12)])),
            [0]
        );
    }
}
