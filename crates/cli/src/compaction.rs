//! Keeping the columnar store up to date while the server runs: a thread
//! that compacts what the log gained about once a second.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use percorso_analytics::{ColumnarStore, CompactionPolicy, Compactor};
use percorso_collect::{Collector, DataDir};

/// How often the log is compacted: the most a query's data lags behind
/// what was acknowledged (plus the time one cycle takes).
pub const FRESHNESS: Duration = Duration::from_secs(1);

/// The store of `data`, opened for compaction.
pub fn open_compactor(data: &DataDir) -> anyhow::Result<Compactor> {
    let dir = data.root().join("analytics");
    Compactor::open(&dir, &data.erased_profiles(), CompactionPolicy::default())
        .with_context(|| format!("cannot open the columnar store in {}", dir.display()))
}

/// A running compaction thread; stops (after a last cycle) when dropped.
#[derive(Debug)]
pub struct CompactionThread {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    pub store: Arc<ColumnarStore>,
}

impl CompactionThread {
    pub fn start(mut compactor: Compactor, collector: Arc<Collector>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let store = compactor.store();
        let stopping = stop.clone();
        let handle = std::thread::Builder::new()
            .name("compaction".into())
            .spawn(move || loop {
                let started = Instant::now();
                let now = collector.clock().now_millis();
                let more = match compactor.cycle(collector.log(), now) {
                    Ok(report) => {
                        if report.events > 0 || report.rewritten || report.files_merged > 0 {
                            tracing::debug!(?report, "compacted");
                        }
                        report.more
                    }
                    Err(error) => {
                        tracing::error!(%error, "compaction failed; retrying");
                        false
                    }
                };
                if stopping.load(Ordering::Acquire) {
                    break;
                }
                if !more {
                    std::thread::sleep(FRESHNESS.saturating_sub(started.elapsed()));
                }
            })
            .expect("spawn the compaction thread");
        CompactionThread {
            stop,
            handle: Some(handle),
            store,
        }
    }
}

impl Drop for CompactionThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
