//! Running a kernel over a snapshot on every core.

use crate::error::AnalyticsError;
use crate::runs::{key_ranges, run_range, run_set_aside, Kernel};
use crate::source::ScanContext;
use crate::store::Snapshot;

/// Threads a scan uses: one per core; the machine's other work shares them.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Runs the kernel `make` builds over every person of `snapshot`.
pub fn scan<K: Kernel>(
    snapshot: &Snapshot,
    context: &ScanContext<'_>,
    make: impl Fn() -> K + Sync,
) -> Result<K, AnalyticsError> {
    let files = snapshot.paths();
    let adjustments = snapshot.adjustments();
    let ranges = key_ranges(if files.is_empty() { 1 } else { threads() });
    let results: Vec<Result<_, AnalyticsError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .into_iter()
            .map(|range| {
                let (files, make, adjustments) = (&files, &make, &adjustments);
                scope.spawn(move || run_range(files, range, context, adjustments, make()))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(AnalyticsError::Internal("a scan thread panicked".into()))
                })
            })
            .collect()
    });
    let mut total = make();
    let mut set_aside = Vec::new();
    for result in results {
        let (kernel, aside) = result?;
        total.merge(kernel);
        set_aside.extend(aside);
    }
    run_set_aside(set_aside, context, &mut total);
    Ok(total)
}
