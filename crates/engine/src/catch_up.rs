//! The engine catching up with the log: the replay at start (from the
//! checkpoint's offsets), and records a lasting gap is missing.

use std::time::{Duration, Instant};

use crate::feed::Arrived;
use crate::sequencer::Sequencer;
use crate::worker::Worker;

/// How long records wait for an earlier one before it is read from the log.
const GAP_PATIENCE: Duration = Duration::from_millis(500);

impl Worker {
    /// Reads every partition from where the stored state stands up to
    /// `ends` into the book, then judges the profiles that may have moved
    /// against the membership the log recorded.
    pub(crate) fn replay(&mut self, ends: &[u64]) {
        let started = Instant::now();
        let mut replayed = 0u64;
        let starts = self.shared.book().applied(ends.len());
        for ((partition, &end), start) in (0u16..).zip(ends).zip(starts) {
            if start >= end {
                continue;
            }
            let reader = match self.collector.log().reader(partition, start) {
                Ok(reader) => reader,
                Err(e) => {
                    tracing::error!(partition, error = %e, "cannot replay partition");
                    continue;
                }
            };
            let mut chunk = Vec::new();
            for item in reader {
                match item {
                    Ok((record, location)) if location.offset < end => {
                        chunk.push(Arrived::read(location, record.payload));
                    }
                    Ok(_) => break,
                    Err(e) => {
                        tracing::error!(partition, error = %e, "replay stopped early");
                        break;
                    }
                }
                if chunk.len() == 4096 {
                    replayed += chunk.len() as u64;
                    self.apply(std::mem::take(&mut chunk));
                    self.maybe_checkpoint();
                }
            }
            replayed += chunk.len() as u64;
            self.apply(chunk);
        }
        self.sequencer = Sequencer::new(ends.to_vec());
        let now = self.now();
        let actions = self.shared.book().go_live(now);
        match actions {
            Some(actions) => self.emit(actions),
            None => self.judge_everyone(now),
        }
        self.shared.book().mark_settled();
        self.run_effects();
        self.checkpoint_now();
        tracing::info!(
            records = replayed,
            profiles = self.shared.book().profile_count(),
            seconds = started.elapsed().as_secs_f64(),
            "profile engine replayed the log"
        );
    }

    /// Reads from the log the records a lasting gap is missing.
    pub(crate) fn fill_gaps(&mut self) {
        for (partition, from, to) in self.sequencer.stalled(GAP_PATIENCE) {
            let reader = match self.collector.log().reader(partition, from) {
                Ok(reader) => reader,
                Err(e) => {
                    tracing::error!(partition, error = %e, "cannot read a gap in the log");
                    continue;
                }
            };
            let missing: Vec<Arrived> = reader
                .map_while(Result::ok)
                .take_while(|(_, location)| location.offset < to)
                .map(|(record, location)| Arrived::read(location, record.payload))
                .collect();
            tracing::warn!(
                partition,
                from,
                to,
                read = missing.len(),
                "filled a gap from the log"
            );
            self.admit(missing);
        }
    }
}
