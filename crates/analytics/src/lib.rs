//! Journey analytics: the columnar store and the journey kernels.
//!
//! * [`compactor`] turns the event log into Parquet files sorted by
//!   (profile, time), continuously; [`store`] holds the snapshots queries read.
//! * [`runs`] and [`scan`] give each person's events as one run, merged
//!   across files, on every core: the single pass every kernel shares.
//! * Kernels: [`funnel`] (ClickHouse `windowFunnel` semantics), [`paths`]
//!   (Sankey), [`discovery`] (the journey map: directly-follows graph and
//!   variants), [`conformance`] (actual against designed), [`retention`]
//!   (cohorts and lifecycle), [`scores`] (journey scores and drill-down).
//! * [`sql`]: DataFusion over the same files.

pub mod background_merge;
pub mod codebook;
pub mod compactor;
pub mod conditions;
pub mod conformance;
pub mod discovery;
pub mod error;
pub mod funnel;
pub mod gaps;
pub mod lookup;
pub mod paths;
pub mod query;
pub mod retention;
pub mod rewrite;
pub mod rows;
pub mod runs;
pub mod scan;
pub mod schema;
pub mod scores;
pub mod segments;
pub mod source;
pub mod sql;
pub mod sql_profiles;
pub mod sql_reports;
pub mod sql_segments;
pub mod sql_tables;
pub mod store;
pub mod summary;
pub mod tagger;
pub mod writer;

pub use compactor::{CompactionPolicy, Compactor, CycleReport};
pub use conformance::{ConformanceQuery, ConformanceReport};
pub use discovery::{DiscoveryQuery, DiscoveryReport};
pub use error::AnalyticsError;
pub use funnel::{FunnelQuery, FunnelReport};
pub use paths::{PathsQuery, PathsReport};
pub use retention::{LifecycleQuery, LifecycleReport, RetentionQuery, RetentionReport};
pub use scores::{ScoresQuery, ScoresReport};
pub use store::{ColumnarStore, Snapshot};
