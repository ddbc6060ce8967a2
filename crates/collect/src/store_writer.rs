//! Writes the event index's recent entries, the identity graph's changes
//! and the deduplication keys to the state store, on a thread of its own,
//! so that they cost disk and not memory.
//!
//! A write of the index moves the recent entries aside and writes them with
//! the coverage they complete (see `event_index`); a start files only what
//! lies after. Ingest is not held still for it: waiting for every request
//! in flight (each waits for its fsync) put tens of milliseconds on the p99.
//! A write of the graph waits only for the requests that resolved what it
//! writes (see `IdentityStage::write_changes`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::collector::Collector;
use crate::error::CollectError;

/// The index is written sooner past this many entries (~70 bytes each in
/// memory; else every `index_write_every`). A write stores a row per
/// profile and partition, so the more entries per write, the fewer rows
/// to store, flush and compact: 500,000 rather than 200,000 took some 5%
/// off the CPU time of `bench profiles` (100,000 people). Not more: the
/// first write after a burst delays what comes next, and at 1,000,000
/// the append-to-segment p99 just after the burst rose from ~10 to 15-35 ms.
const MAX_RECENT: usize = 500_000;
/// The graph is written sooner past this many changed profiles.
const MAX_UNWRITTEN_PROFILES: usize = 100_000;
/// ... or past this many deduplication keys (~40 bytes each in memory).
const MAX_UNWRITTEN_KEYS: usize = 500_000;
/// How often the thread looks at the count and for a stop.
const POLL: Duration = Duration::from_millis(50);

impl Collector {
    /// Writes the event index's entries held in memory to the state store
    /// and lets them go; returns how many. Blocks on the store: call it off
    /// the async workers. Nothing to do for a collector that only reads.
    pub fn write_index(&self) -> Result<usize, CollectError> {
        Ok(self.index.write()?)
    }

    /// Writes the identity graph's changes and the deduplication keys to
    /// the state store, and lets memory go of profiles past the graph's
    /// capacity and of the keys; returns the profiles written. Blocks on
    /// the store: call it off the async workers.
    pub fn write_identity(&self) -> Result<usize, CollectError> {
        let _writing = self.identity.lock_writing();
        // Read first: every record below these was resolved before the
        // changes are taken, so its facts are in them.
        let ends = self.log.end_offsets()?;
        let profiles = self.identity.write_changes(&ends)?;
        // `write_changes` returns once every batch resolved before it has
        // settled, and a batch commits its keys before it settles: the
        // keys of every record below `ends` are committed by now.
        let keys = self.dedup.write(&ends)?;
        let memtables = self.store().map_or(0, |s| s.memtable_bytes());
        tracing::debug!(keys, memtables, "dedup keys written");
        Ok(profiles)
    }

    /// Starts the thread that writes the index and the identity graph every
    /// `index_write_every`, or sooner when changes pile up. It ends when
    /// the handle is dropped (after one last write) or when the collector
    /// is gone.
    pub fn start_store_writer(self: &Arc<Self>) -> StoreWriter {
        let collector = Arc::downgrade(self);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn({
                let stop = stop.clone();
                move || run(&collector, &stop)
            })
            .expect("spawn the store writer thread");
        StoreWriter {
            stop,
            thread: Some(thread),
        }
    }
}

fn run(collector: &Weak<Collector>, stop: &AtomicBool) {
    let mut last_index = Instant::now();
    let mut last_identity = Instant::now();
    loop {
        std::thread::sleep(POLL);
        let stopping = stop.load(Ordering::Relaxed);
        let Some(collector) = collector.upgrade() else {
            return;
        };
        let every = collector.config().index_write_every;
        if stopping || last_index.elapsed() >= every || collector.index.in_memory() >= MAX_RECENT {
            timed("event index", || collector.write_index());
            last_index = Instant::now();
        }
        let unwritten = collector.identity.graph().unwritten();
        let piled_up =
            unwritten >= MAX_UNWRITTEN_PROFILES || collector.dedup.len() >= MAX_UNWRITTEN_KEYS;
        if stopping || last_identity.elapsed() >= every || piled_up {
            timed("identity graph", || collector.write_identity());
            last_identity = Instant::now();
        }
        if stopping {
            return;
        }
    }
}

/// Runs one write and logs how it went. What is not written stays in
/// memory, and the next write takes it.
fn timed(what: &str, write: impl FnOnce() -> Result<usize, CollectError>) {
    let started = Instant::now();
    match write() {
        Ok(written) => tracing::debug!(
            written,
            millis = started.elapsed().as_millis() as u64,
            "{what} written"
        ),
        Err(e) => tracing::error!(error = %e, "{what} not written"),
    }
}

/// Stops the store writer when dropped, after a last write.
#[derive(Debug)]
pub struct StoreWriter {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
