//! Profile ids of profile keys: kernels work on keys, people are listed by id.

use std::collections::{HashMap, HashSet};
use std::fs::File;

use arrow::array::AsArray;
use arrow::datatypes::UInt64Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::statistics::Statistics;

use crate::error::AnalyticsError;
use crate::store::Snapshot;

/// The id of each key found in the snapshot's files, reading only the row
/// groups whose key range holds one of them.
pub fn profile_ids(
    snapshot: &Snapshot,
    keys: &[u64],
) -> Result<HashMap<u64, String>, AnalyticsError> {
    let wanted: HashSet<u64> = keys.iter().copied().collect();
    let mut found = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut sorted: Vec<u64> = wanted.iter().copied().collect();
    sorted.sort_unstable();
    for path in snapshot.paths() {
        let file = File::open(&path).map_err(AnalyticsError::io(&path))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
        let metadata = builder.metadata().clone();
        let groups: Vec<usize> = (0..metadata.num_row_groups())
            .filter(|&i| match metadata.row_group(i).column(0).statistics() {
                Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                    (Some(&lo), Some(&hi)) => {
                        let at = sorted.partition_point(|&k| k < lo as u64);
                        sorted.get(at).is_some_and(|&k| k <= hi as u64)
                    }
                    _ => true,
                },
                _ => true,
            })
            .collect();
        if groups.is_empty() {
            continue;
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), [0, 1]);
        for batch in builder
            .with_row_groups(groups)
            .with_projection(mask)
            .build()?
        {
            let batch = batch?;
            let keys = batch.column(0).as_primitive::<UInt64Type>();
            let ids = batch.column(1).as_string::<i32>();
            for row in 0..batch.num_rows() {
                let key = keys.value(row);
                if wanted.contains(&key) && !found.contains_key(&key) {
                    found.insert(key, ids.value(row).to_owned());
                }
            }
        }
    }
    Ok(found)
}
