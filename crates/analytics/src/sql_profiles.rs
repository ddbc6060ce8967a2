//! The `profiles` SQL table: every profile as the profile engine holds it
//! (traits, computed traits, segments, activity), read when a query scans
//! it and not before, so queries over events alone never wait for it.
//!
//! The analytics crate does not know the engine: whoever opens the session
//! hands in a [`ProfileRows`] that lists the profiles (the server's engine).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

/// One profile, as the `profiles` table shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRow {
    pub profile_id: String,
    /// JSON object text.
    pub traits: String,
    /// JSON object text: computed trait name → value.
    pub computed_traits: String,
    /// JSON array text of the segments the profile is in now.
    pub segments: String,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub events: u64,
}

pub type ProfileRowsFuture = Pin<Box<dyn Future<Output = Result<Vec<ProfileRow>, String>> + Send>>;

/// Lists every profile when called.
pub type ProfileRows = Arc<dyn Fn() -> ProfileRowsFuture + Send + Sync>;

pub fn profiles_schema() -> SchemaRef {
    let time = crate::schema::timestamp_type();
    Arc::new(Schema::new(vec![
        Field::new("profile_id", DataType::Utf8, false),
        Field::new("traits", DataType::Utf8, false),
        Field::new("computed_traits", DataType::Utf8, false),
        Field::new("segments", DataType::Utf8, false),
        Field::new("first_seen", time.clone(), true),
        Field::new("last_seen", time, true),
        Field::new("events", DataType::UInt64, false),
    ]))
}

fn batch_of(rows: &[ProfileRow]) -> Result<RecordBatch> {
    let text = |f: fn(&ProfileRow) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let time = |f: fn(&ProfileRow) -> Option<i64>| -> ArrayRef {
        Arc::new(TimestampMillisecondArray::from_iter(rows.iter().map(f)).with_timezone("UTC"))
    };
    let columns = vec![
        text(|r| &r.profile_id),
        text(|r| &r.traits),
        text(|r| &r.computed_traits),
        text(|r| &r.segments),
        time(|r| r.first_seen),
        time(|r| r.last_seen),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.events))) as ArrayRef,
    ];
    Ok(RecordBatch::try_new(profiles_schema(), columns)?)
}

/// The table: asks for the rows at scan time.
pub struct ProfilesTable {
    rows: Option<ProfileRows>,
}

impl ProfilesTable {
    /// Without a source, scanning the table says where it can be read.
    pub fn new(rows: Option<ProfileRows>) -> Self {
        ProfilesTable { rows }
    }
}

impl std::fmt::Debug for ProfilesTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfilesTable")
            .field("has_source", &self.rows.is_some())
            .finish()
    }
}

#[async_trait]
impl TableProvider for ProfilesTable {
    fn schema(&self) -> SchemaRef {
        profiles_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(rows) = &self.rows else {
            return Err(DataFusionError::Plan(
                "the profiles table is read from the profile engine of a running server: \
                 start `percorso serve` (then `percorso sql` asks it) or use POST /api/v1/sql"
                    .into(),
            ));
        };
        let rows = rows().await.map_err(DataFusionError::Execution)?;
        let batch = batch_of(&rows)?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            profiles_schema(),
            projection.cloned(),
        )?)
    }
}
