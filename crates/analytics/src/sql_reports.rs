//! Every journey report as a SQL table function whose one argument is the
//! report's JSON query (what `POST /api/v1/analytics/<name>` takes):
//!
//! ```sql
//! SELECT * FROM journey_map('{"events": ["A", "B"]}') ORDER BY count DESC
//! ```
//!
//! `funnel`, `paths`, `journey_map`, `conformance`, `retention`, `lifecycle`
//! and `journey_scores` each run the report on the session's snapshot when
//! the statement is planned and give its main table as rows (columns in
//! `docs/analytics.md`). An argument that is not one string literal, bad
//! JSON or a query the report refuses is a plan error naming the function.

use std::marker::PhantomData;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_datafusion_err, DataFusionError, Result};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;
use serde::de::DeserializeOwned;

use crate::error::AnalyticsError;
use crate::scores::PeriodScores;
use crate::store::Snapshot;
use crate::summary::Durations;
use crate::{
    ConformanceQuery, DiscoveryQuery, FunnelQuery, LifecycleQuery, PathsQuery, RetentionQuery,
    ScoresQuery,
};

/// Registers the seven report functions, each holding a handle to
/// `snapshot` (shared, not copied), so its files stay readable while the
/// session lives.
pub fn register_report_functions(ctx: &SessionContext, snapshot: &Arc<Snapshot>) {
    register::<FunnelQuery>(ctx, snapshot);
    register::<PathsQuery>(ctx, snapshot);
    register::<DiscoveryQuery>(ctx, snapshot);
    register::<ConformanceQuery>(ctx, snapshot);
    register::<RetentionQuery>(ctx, snapshot);
    register::<LifecycleQuery>(ctx, snapshot);
    register::<ScoresQuery>(ctx, snapshot);
}

fn register<Q: ReportTable>(ctx: &SessionContext, snapshot: &Arc<Snapshot>) {
    let function = ReportFunction::<Q> {
        snapshot: Arc::clone(snapshot),
        query: PhantomData,
    };
    ctx.register_udtf(Q::NAME, Arc::new(function));
}

/// A report query whose report reads as one table.
trait ReportTable: DeserializeOwned + std::fmt::Debug + 'static {
    /// The SQL function's name.
    const NAME: &'static str;

    /// Runs the report and flattens its main table.
    fn table(&self, snapshot: &Snapshot) -> Result<Table, AnalyticsError>;
}

#[derive(Debug)]
struct ReportFunction<Q> {
    snapshot: Arc<Snapshot>,
    query: PhantomData<fn() -> Q>,
}

impl<Q: ReportTable> TableFunctionImpl for ReportFunction<Q> {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let name = Q::NAME;
        let text = match args.exprs() {
            [Expr::Literal(value, _)] => value.try_as_str().flatten(),
            _ => None,
        }
        .ok_or_else(|| {
            plan_datafusion_err!("{name} takes one string literal: the report's JSON query")
        })?;
        let query: Q =
            serde_json::from_str(text).map_err(|e| plan_datafusion_err!("{name}: query: {e}"))?;
        let batch = query
            .table(&self.snapshot)
            .and_then(Table::into_batch)
            .map_err(|e| match e {
                AnalyticsError::Invalid(message) => plan_datafusion_err!("{name}: {message}"),
                other => DataFusionError::External(Box::new(other)),
            })?;
        Ok(Arc::new(MemTable::try_new(
            batch.schema(),
            vec![vec![batch]],
        )?))
    }
}

/// Columns built one after another, all of the same length.
#[derive(Default)]
struct Table {
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
}

impl Table {
    fn column(mut self, name: &str, nullable: bool, array: ArrayRef) -> Self {
        self.fields
            .push(Field::new(name, array.data_type().clone(), nullable));
        self.columns.push(array);
        self
    }

    fn text<'a>(self, name: &str, values: impl Iterator<Item = &'a str>) -> Self {
        self.column(name, false, Arc::new(StringArray::from_iter_values(values)))
    }

    fn optional_text<'a>(self, name: &str, values: impl Iterator<Item = Option<&'a str>>) -> Self {
        self.column(name, true, Arc::new(StringArray::from_iter(values)))
    }

    fn count(self, name: &str, values: impl Iterator<Item = u64>) -> Self {
        self.column(name, false, Arc::new(UInt64Array::from_iter_values(values)))
    }

    fn int(self, name: &str, values: impl Iterator<Item = i64>) -> Self {
        self.column(name, false, Arc::new(Int64Array::from_iter_values(values)))
    }

    fn float(self, name: &str, values: impl Iterator<Item = Option<f64>>) -> Self {
        self.column(name, true, Arc::new(Float64Array::from_iter(values)))
    }

    /// ISO dates (`2026-01-05`) as SQL dates.
    fn date<'a>(
        self,
        name: &str,
        values: impl Iterator<Item = &'a str>,
    ) -> Result<Self, AnalyticsError> {
        let text = StringArray::from_iter_values(values);
        let dates = arrow::compute::cast(&text, &DataType::Date32)?;
        Ok(self.column(name, false, dates))
    }

    /// `mean_ms{suffix}`, `median_ms{suffix}` and `p90_ms{suffix}`.
    fn durations(self, suffix: &str, values: &[Durations]) -> Self {
        self.float(
            &format!("mean_ms{suffix}"),
            values.iter().map(|d| d.mean_ms),
        )
        .float(
            &format!("median_ms{suffix}"),
            values.iter().map(|d| d.median_ms),
        )
        .float(&format!("p90_ms{suffix}"), values.iter().map(|d| d.p90_ms))
    }

    fn into_batch(self) -> Result<RecordBatch, AnalyticsError> {
        let schema = Arc::new(Schema::new(self.fields));
        Ok(RecordBatch::try_new(schema, self.columns)?)
    }
}

impl ReportTable for FunnelQuery {
    const NAME: &'static str = "funnel";

    /// A row per step, per breakdown value when the query has a breakdown.
    fn table(&self, snapshot: &Snapshot) -> Result<Table, AnalyticsError> {
        let report = self.run(snapshot)?;
        let rows: Vec<_> = if self.breakdown.is_some() {
            let groups = report.breakdown.iter();
            groups
                .flat_map(|g| g.steps.iter().map(|s| (Some(g.value.as_str()), s)))
                .collect()
        } else {
            report.steps.iter().map(|s| (None, s)).collect()
        };
        let times: Vec<Durations> = rows.iter().map(|(_, s)| s.time_from_previous).collect();
        Ok(Table::default()
            .optional_text("breakdown", rows.iter().map(|(b, _)| *b))
            .count("step", rows.iter().map(|(_, s)| s.step as u64))
            .text("event", rows.iter().map(|(_, s)| s.event.as_str()))
            .count("people", rows.iter().map(|(_, s)| s.people))
            .float(
                "conversion_from_start",
                rows.iter().map(|(_, s)| Some(s.conversion_from_start)),
            )
            .float(
                "conversion_from_previous",
                rows.iter().map(|(_, s)| Some(s.conversion_from_previous)),
            )
            .count("dropped", rows.iter().map(|(_, s)| s.dropped))
            .durations("_from_previous", &times))
    }
}

impl ReportTable for PathsQuery {
    const NAME: &'static str = "paths";

    /// A row per Sankey link.
    fn table(&self, snapshot: &Snapshot) -> Result<Table, AnalyticsError> {
        let links = self.run(snapshot)?.links;
        // Node ids are `{step}_{event}`.
        fn split(id: &str) -> Option<(u64, &str)> {
            id.split_once('_').map(|(s, e)| (s.parse().unwrap_or(0), e))
        }
        let ends: Vec<_> = links
            .iter()
            .map(|l| (split(&l.source), split(&l.target)))
            .collect();
        let times: Vec<Durations> = links.iter().map(|l| l.duration).collect();
        Ok(Table::default()
            .count("step", ends.iter().map(|(s, _)| s.map_or(0, |s| s.0)))
            .text("source", links.iter().map(|l| l.source.as_str()))
            .text("target", links.iter().map(|l| l.target.as_str()))
            .text(
                "source_event",
                ends.iter().map(|(s, _)| s.map_or("", |s| s.1)),
            )
            .text(
                "target_event",
                ends.iter().map(|(_, t)| t.map_or("", |t| t.1)),
            )
            .count("sessions", links.iter().map(|l| l.sessions))
            .durations("", &times))
    }
}

impl ReportTable for DiscoveryQuery {
    const NAME: &'static str = "journey_map";

    /// A row per edge of the directly-follows graph.
    fn table(&self, snapshot: &Snapshot) -> Result<Table, AnalyticsError> {
        let edges = self.run(snapshot)?.edges;
        let times: Vec<Durations> = edges.iter().map(|e| e.duration).collect();
        Ok(Table::default()
            .text("from_node", edges.iter().map(|e| e.from.as_str()))
            .text("to_node", edges.iter().map(|e| e.to.as_str()))
            .count("count", edges.iter().map(|e| e.count))
            .durations("", &times))
    }
}

impl ReportTable for ConformanceQuery {
    const NAME: &'static str = "conformance";

    /// A row per stage of the design, in order.
    fn table(&self, snapshot: &Snapshot) -> Result<Table, AnalyticsError> {
        let report = self.run(snapshot)?;
        let stages = &report.stages;
        let late = |stage: &str| {
            let late = report.late_starts.iter().filter(|(s, _)| s == stage);
            late.map(|(_, n)| n).sum()
        };
        let first_off = |stage: &str| {
            let off = report.deviations.iter().filter(|d| d.from == stage);
            off.map(|d| d.first_for).sum()
        };
        let times: Vec<Durations> = stages.iter().map(|s| s.time_in_stage).collect();
        Ok(Table::default()
            .count("stage_index", 1..=stages.len() as u64)
            .text("stage", stages.iter().map(|s| s.stage.as_str()))
            .count("reached", stages.iter().map(|s| s.reached))
            .count("stalled", stages.iter().map(|s| s.stalled))
            .count("late_starts", stages.iter().map(|s| late(&s.stage)))
            .count(
                "first_deviations",
                stages.iter().map(|s| first_off(&s.stage)),
            )
            .durations("_in_stage", &times))
    }
}

impl ReportTable for RetentionQuery {
    const NAME: &'static str = "retention";

    /// A row per cohort and period that has begun.
    fn table(&self, snapshot: &Snapshot) -> Result<Table, AnalyticsError> {
        let report = self.run(snapshot)?;
        let rows: Vec<_> = report
            .cohorts
            .iter()
            .flat_map(|c| (0..c.values.len()).map(move |k| (c, k)))
            .collect();
        let table = Table::default().date("cohort", rows.iter().map(|(c, _)| c.start.as_str()))?;
        Ok(table
            .count("cohort_size", rows.iter().map(|(c, _)| c.size))
            .count("period", rows.iter().map(|(_, k)| *k as u64))
            .count("people", rows.iter().map(|(c, k)| c.values[*k]))
            .float("rate", rows.iter().map(|(c, k)| Some(c.rates[*k]))))
    }
}

impl ReportTable for LifecycleQuery {
    const NAME: &'static str = "lifecycle";

    /// Four rows per interval: new, returning, resurrecting and dormant
    /// (negative) people.
    fn table(&self, snapshot: &Snapshot) -> Result<Table, AnalyticsError> {
        let report = self.run(snapshot)?;
        let rows: Vec<(&str, &str, i64)> = report
            .intervals
            .iter()
            .flat_map(|r| {
                let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                [
                    ("new", count(r.new)),
                    ("returning", count(r.returning)),
                    ("resurrecting", count(r.resurrecting)),
                    ("dormant", r.dormant),
                ]
                .map(|(status, people)| (r.start.as_str(), status, people))
            })
            .collect();
        let table = Table::default().date("interval_start", rows.iter().map(|r| r.0))?;
        Ok(table
            .text("status", rows.iter().map(|r| r.1))
            .int("people", rows.iter().map(|r| r.2)))
    }
}

/// A row of `journey_scores`: section, group value, metric and value.
type Row<'a> = (&'static str, Option<&'a str>, &'static str, Option<f64>);

/// A period's scores as (metric, value).
fn metrics(s: &PeriodScores) -> [(&'static str, Option<f64>); 17] {
    let t = &s.time_to_complete;
    [
        ("instances", Some(s.instances as f64)),
        ("completed", Some(s.completed as f64)),
        ("completion_rate", Some(s.completion_rate)),
        ("mean_ms_to_complete", t.mean_ms),
        ("median_ms_to_complete", t.median_ms),
        ("p90_ms_to_complete", t.p90_ms),
        ("contacts_per_instance", Some(s.contacts_per_instance)),
        ("repeat_contact_share", Some(s.repeat_contact_share)),
        (
            "channel_switches_per_instance",
            Some(s.channel_switches_per_instance),
        ),
        ("first_contact_resolution", s.first_contact_resolution),
        ("cost", Some(s.cost)),
        ("cost_per_instance", Some(s.cost_per_instance)),
        ("cost_per_completed", s.cost_per_completed),
        ("nps", s.nps),
        ("nps_responses", Some(s.nps_responses as f64)),
        ("csat", s.csat),
        ("csat_responses", Some(s.csat_responses as f64)),
    ]
}

impl ReportTable for ScoresQuery {
    const NAME: &'static str = "journey_scores";

    /// A row per (section, group, metric): the period's and the comparison
    /// period's scores, the period's per group, and the drill-down.
    fn table(&self, snapshot: &Snapshot) -> Result<Table, AnalyticsError> {
        let report = self.run(snapshot)?;
        fn scores<'a>(
            section: &'static str,
            group: Option<&'a str>,
            s: &PeriodScores,
        ) -> [Row<'a>; 17] {
            metrics(s).map(|(m, v)| (section, group, m, v))
        }
        fn stages<'a>(section: &'static str, s: &'a PeriodScores) -> impl Iterator<Item = Row<'a>> {
            s.stages.iter().flat_map(move |r| {
                let stage = Some(r.stage.as_str());
                [
                    (section, stage, "reached", Some(r.reached as f64)),
                    (
                        section,
                        stage,
                        "conversion_from_previous",
                        Some(r.conversion),
                    ),
                ]
            })
        }
        let step_names: Vec<String> = report
            .drill_down
            .iter()
            .flat_map(|d| &d.steps)
            .map(|s| format!("{} → {}", s.from, s.to))
            .collect();
        let mut rows: Vec<Row> = scores("period", None, &report.period).to_vec();
        rows.extend(stages("period_stage", &report.period));
        if let Some(compare) = &report.compare {
            rows.extend(scores("compare", None, compare));
            rows.extend(stages("compare_stage", compare));
        }
        for g in &report.by_group {
            rows.extend(scores("period", Some(g.value.as_str()), &g.scores));
        }
        if let Some(drill) = &report.drill_down {
            rows.push((
                "drill_down",
                None,
                "completion_rate_change",
                Some(drill.change),
            ));
            for g in &drill.groups {
                let group = Some(g.value.as_str());
                rows.extend([
                    ("drill_down", group, "contribution", Some(g.contribution)),
                    ("drill_down", group, "mix_effect", Some(g.mix_effect)),
                    ("drill_down", group, "rate_effect", Some(g.rate_effect)),
                ]);
            }
            for (step, name) in drill.steps.iter().zip(&step_names) {
                let step_name = Some(name.as_str());
                rows.extend([
                    (
                        "drill_down_step",
                        step_name,
                        "contribution",
                        Some(step.contribution),
                    ),
                    (
                        "drill_down_step",
                        step_name,
                        "conversion_before",
                        Some(step.conversion[0]),
                    ),
                    (
                        "drill_down_step",
                        step_name,
                        "conversion",
                        Some(step.conversion[1]),
                    ),
                ]);
            }
        }
        Ok(Table::default()
            .text("section", rows.iter().map(|r| r.0))
            .optional_text("group_value", rows.iter().map(|r| r.1))
            .text("metric", rows.iter().map(|r| r.2))
            .float("value", rows.iter().map(|r| r.3)))
    }
}
