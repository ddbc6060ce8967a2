//! Writes the event index's recent entries to the state store, on a thread
//! of its own, so that the index costs disk and not memory.
//!
//! A write moves the recent entries aside and writes them with the coverage
//! they complete (see `event_index`); a start files only what lies after.
//! Ingest is not held still for it: waiting for every request in flight
//! (each waits for its fsync) put tens of milliseconds on the p99.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::collector::Collector;
use crate::error::CollectError;

/// Written sooner past this many entries (~70 bytes each in memory). Not
/// more: on two cores a write of a million entries took half a second of
/// CPU from the engine and ingest, and the append-to-segment p99 showed it.
const MAX_RECENT: usize = 200_000;
/// How often the thread looks at the count and for a stop.
const POLL: Duration = Duration::from_millis(50);

impl Collector {
    /// Writes the event index's entries held in memory to the state store
    /// and lets them go; returns how many. Blocks on the store: call it off
    /// the async workers. Nothing to do for a collector that only reads.
    pub fn write_index(&self) -> Result<usize, CollectError> {
        if !self.index.is_stored() {
            return Ok(0);
        }
        let writing = self.index.lock_writing();
        let covered = self.index.set_aside();
        let written = self.index.write_set_aside(&covered)?;
        drop(writing);
        Ok(written)
    }

    /// Starts the thread that writes the index every `index_write_every`, or
    /// sooner when entries pile up. It ends when the handle is dropped
    /// (after one last write) or when the collector is gone.
    pub fn start_index_writer(self: &Arc<Self>) -> IndexWriter {
        let collector = Arc::downgrade(self);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("index-writer".into())
            .spawn({
                let stop = stop.clone();
                move || run(&collector, &stop)
            })
            .expect("spawn the index writer thread");
        IndexWriter {
            stop,
            thread: Some(thread),
        }
    }
}

fn run(collector: &Weak<Collector>, stop: &AtomicBool) {
    let mut last = Instant::now();
    loop {
        std::thread::sleep(POLL);
        let stopping = stop.load(Ordering::Relaxed);
        let Some(collector) = collector.upgrade() else {
            return;
        };
        let due = last.elapsed() >= collector.config().index_write_every
            || collector.index.in_memory() >= MAX_RECENT;
        if stopping || due {
            let started = Instant::now();
            match collector.write_index() {
                Ok(written) => tracing::debug!(
                    entries = written,
                    millis = started.elapsed().as_millis() as u64,
                    "event index written"
                ),
                // The entries stay in memory; the next write takes them.
                Err(e) => tracing::error!(error = %e, "event index not written"),
            }
            last = Instant::now();
        }
        if stopping {
            return;
        }
    }
}

/// Stops the index writer when dropped, after a last write.
#[derive(Debug)]
pub struct IndexWriter {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for IndexWriter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
