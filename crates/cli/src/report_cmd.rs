//! `percorso report ...`: journey reports from the columnar store, as
//! tables for people or JSON for programs. Every report takes its query as
//! flags for the common cases, or whole with `--query FILE` (the JSON the
//! `/api/v1/analytics/...` endpoint takes; `-` reads standard input).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use percorso_analytics::conditions::EventCondition;
use percorso_analytics::funnel::chain::FunnelMode;
use percorso_analytics::funnel::Exclusion;
use percorso_analytics::query::{Breakdown, Scope};
use percorso_analytics::scores::DrillDownBy;
use percorso_analytics::{
    ConformanceQuery, DiscoveryQuery, FunnelQuery, LifecycleQuery, PathsQuery, RetentionQuery,
    ScoresQuery,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::analytics_cmd::fresh_store;
use crate::config::Config;
use crate::report_print as print;

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub report: ReportCommand,
    /// Print JSON (for programs) instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// The whole query as JSON (as the API takes it); `-` for stdin.
    #[arg(long, global = true)]
    pub query: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Ordered steps within a window (ClickHouse windowFunnel semantics).
    Funnel(FunnelArgs),
    /// The most common paths through sessions, as Sankey nodes and links.
    Paths(PathsArgs),
    /// How real journeys follow a designed sequence of stages.
    Conformance(ConformanceArgs),
    /// Completion, effort, cost to serve, NPS and CSAT of a journey, with
    /// a drill-down against a comparison period.
    Scores(ScoresArgs),
    /// The actual journey map: directly-follows graph with counts and
    /// durations, start and end activities, most common variants.
    JourneyMap(JourneyMapArgs),
    /// Cohort retention (recurring or first time, cumulative or not).
    Retention(RetentionArgs),
    /// New, returning, resurrecting and dormant people per interval.
    Lifecycle(LifecycleArgs),
}

#[derive(Debug, Args)]
pub struct JourneyMapArgs {
    /// Nodes are channel · event instead of event.
    #[arg(long)]
    pub by_channel: bool,
    /// Keep only these events (repeatable).
    #[arg(long = "event")]
    pub events: Vec<String>,
    /// Leave edges seen fewer times out of the report.
    #[arg(long, default_value_t = 0)]
    pub min_count: u64,
    #[command(flatten)]
    pub range: RangeArgs,
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// The event that puts a person in a cohort.
    #[arg(long)]
    pub start: Option<String>,
    /// The event that counts as coming back (the start event by default).
    #[arg(long = "return")]
    pub return_event: Option<String>,
    /// day, week or month.
    #[arg(long, default_value = "day")]
    pub interval: String,
    #[arg(long, default_value_t = 8)]
    pub periods: usize,
    /// recurring or first_time.
    #[arg(long = "type", default_value = "recurring")]
    pub retention_type: String,
    #[arg(long)]
    pub cumulative: bool,
    #[command(flatten)]
    pub range: RangeArgs,
}

#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// The event that makes a person active.
    #[arg(long)]
    pub event: Option<String>,
    /// day, week or month.
    #[arg(long, default_value = "day")]
    pub interval: String,
    #[command(flatten)]
    pub range: RangeArgs,
}

#[derive(Debug, Args)]
pub struct FunnelArgs {
    /// A step, in order: `Event Name` or `Event Name[property=value,...]`.
    #[arg(long = "step")]
    pub steps: Vec<String>,
    /// Conversion window from the first step (e.g. 14d, 1h).
    #[arg(long, default_value = "14d")]
    pub window: String,
    /// default, strict_order, strict_deduplication, strict_increase, unordered.
    #[arg(long, default_value = "default")]
    pub mode: String,
    /// `EVENT:FROM:TO`: leave out people who did EVENT between steps FROM and TO.
    #[arg(long = "exclude")]
    pub exclusions: Vec<String>,
    /// `channel` or `property:<name>` of the event that started the funnel,
    /// or `segment:<name>` (members now and the rest).
    #[arg(long)]
    pub breakdown: Option<String>,
    #[command(flatten)]
    pub range: RangeArgs,
    /// List the people who stopped at this step.
    #[arg(long)]
    pub dropped_at: Option<usize>,
    #[arg(long, default_value_t = 100)]
    pub people_limit: usize,
}

#[derive(Debug, Args)]
pub struct RangeArgs {
    /// Only events at or after this time (ISO 8601).
    #[arg(long)]
    pub from: Option<String>,
    /// Only events before this time (ISO 8601).
    #[arg(long)]
    pub to: Option<String>,
    /// Only the people in this segment now.
    #[arg(long)]
    pub segment: Option<String>,
}

impl RangeArgs {
    fn range(&self) -> Scope {
        Scope {
            from: self.from.clone(),
            to: self.to.clone(),
            segment: self.segment.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct PathsArgs {
    /// Paths from this event.
    #[arg(long)]
    pub start: Option<String>,
    /// Paths up to this event.
    #[arg(long)]
    pub end: Option<String>,
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    #[arg(long, default_value = "30m")]
    pub session_gap: String,
    /// Leave these events out (repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub range: RangeArgs,
}

#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// A stage, in order: `Name=Event One,Event Two`.
    #[arg(long = "stage")]
    pub stages: Vec<String>,
    /// Another allowed move: `From Stage>To Stage`.
    #[arg(long = "allow")]
    pub transitions: Vec<String>,
    #[arg(long, default_value = "7d")]
    pub stall_after: String,
    /// Only this person's verdict.
    #[arg(long)]
    pub profile_id: Option<String>,
    #[command(flatten)]
    pub range: RangeArgs,
}

#[derive(Debug, Args)]
pub struct ScoresArgs {
    /// The event that opens a journey instance.
    #[arg(long)]
    pub start: Option<String>,
    /// The event that completes it.
    #[arg(long)]
    pub complete: Option<String>,
    #[arg(long, default_value = "30d")]
    pub window: String,
    #[command(flatten)]
    pub range: RangeArgs,
    /// Comparison period start (for the drill-down).
    #[arg(long)]
    pub compare_from: Option<String>,
    #[arg(long)]
    pub compare_to: Option<String>,
    /// The designed journey's stages between start and complete, in
    /// order: `NAME=EVENT[,EVENT...]`, one flag per stage.
    #[arg(long = "stage")]
    pub stages: Vec<String>,
    /// `channel` or `property:<name>` of the start event, `segment:<name>`,
    /// or `step` (between the stages).
    #[arg(long)]
    pub drill_down: Option<String>,
}

fn condition(text: &str, flag: &str) -> anyhow::Result<EventCondition> {
    EventCondition::parse(text).map_err(|e| anyhow::anyhow!("{flag} {e}"))
}

fn breakdown(text: Option<&str>, flag: &str) -> anyhow::Result<Option<Breakdown>> {
    text.map(Breakdown::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

/// The funnel query the flags describe.
pub fn funnel_query(args: &FunnelArgs) -> anyhow::Result<FunnelQuery> {
    if args.steps.is_empty() {
        bail!(
            "give the steps with --step (one per step, in order), or the whole query with --query"
        );
    }
    let steps = args
        .steps
        .iter()
        .map(|s| condition(s, "--step"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let exclusions = args
        .exclusions
        .iter()
        .map(|text| {
            let mut parts = text.rsplitn(3, ':');
            let (Some(to), Some(from), Some(event)) = (parts.next(), parts.next(), parts.next())
            else {
                bail!("--exclude '{text}': expected EVENT:FROM_STEP:TO_STEP");
            };
            let step = |s: &str| {
                s.parse::<usize>()
                    .with_context(|| format!("--exclude '{text}': '{s}' is not a step number"))
            };
            Ok(Exclusion {
                condition: condition(event, "--exclude")?,
                from_step: step(from)?,
                to_step: step(to)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(FunnelQuery {
        steps,
        window: args.window.clone(),
        mode: FunnelMode::parse(&args.mode).map_err(|e| anyhow::anyhow!("--mode: {e}"))?,
        exclusions,
        breakdown: breakdown(args.breakdown.as_deref(), "--breakdown")?,
        range: args.range.range(),
        dropped_at: args.dropped_at,
        people_limit: args.people_limit,
        convert_bins: 10,
    })
}

fn paths_query(args: &PathsArgs) -> anyhow::Result<PathsQuery> {
    let mut query: PathsQuery = serde_json::from_value(serde_json::json!({}))?;
    query.start = args
        .start
        .as_deref()
        .map(|s| condition(s, "--start"))
        .transpose()?;
    query.end = args
        .end
        .as_deref()
        .map(|s| condition(s, "--end"))
        .transpose()?;
    query.steps = args.steps;
    query.session_gap = args.session_gap.clone();
    query.exclude = args.exclude.clone();
    query.range = args.range.range();
    Ok(query)
}

/// Stages from `--stage NAME=EVENT[,EVENT...]` flags, as query JSON.
fn stages_of(flags: &[String]) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut stages = Vec::new();
    for text in flags {
        let Some((name, events)) = text.split_once('=') else {
            bail!("--stage '{text}': expected NAME=EVENT[,EVENT...]");
        };
        let events: Vec<serde_json::Value> = events
            .split(',')
            .map(|e| serde_json::json!({ "event": e.trim() }))
            .collect();
        stages.push(serde_json::json!({ "name": name.trim(), "events": events }));
    }
    Ok(stages)
}

fn conformance_query(args: &ConformanceArgs) -> anyhow::Result<ConformanceQuery> {
    let stages = stages_of(&args.stages)?;
    let mut transitions = Vec::new();
    for text in &args.transitions {
        let Some((from, to)) = text.split_once('>') else {
            bail!("--allow '{text}': expected FROM_STAGE>TO_STAGE");
        };
        transitions.push((from.trim().to_owned(), to.trim().to_owned()));
    }
    let mut query: ConformanceQuery =
        serde_json::from_value(serde_json::json!({ "stages": stages }))?;
    query.transitions = transitions;
    query.stall_after = args.stall_after.clone();
    query.profile_id = args.profile_id.clone();
    query.range = args.range.range();
    Ok(query)
}

fn scores_query(args: &ScoresArgs) -> anyhow::Result<ScoresQuery> {
    let (Some(start), Some(complete)) = (&args.start, &args.complete) else {
        bail!("give --start and --complete (the events that open and complete the journey), or --query");
    };
    let mut query: ScoresQuery = serde_json::from_value(serde_json::json!({
        "start": condition(start, "--start")?, "complete": condition(complete, "--complete")?,
        "stages": stages_of(&args.stages)?,
    }))?;
    query.window = args.window.clone();
    query.range = args.range.range();
    if args.compare_from.is_some() || args.compare_to.is_some() {
        query.compare = Some(Scope {
            from: args.compare_from.clone(),
            to: args.compare_to.clone(),
            segment: None,
        });
    }
    query.drill_down = args
        .drill_down
        .as_deref()
        .map(DrillDownBy::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--drill-down: {e}"))?;
    Ok(query)
}

fn journey_map_query(args: &JourneyMapArgs) -> DiscoveryQuery {
    DiscoveryQuery {
        by_channel: args.by_channel,
        events: (!args.events.is_empty()).then(|| args.events.clone()),
        min_count: args.min_count,
        range: args.range.range(),
        ..DiscoveryQuery::default()
    }
}

fn retention_query(args: &RetentionArgs) -> anyhow::Result<RetentionQuery> {
    let Some(start) = &args.start else {
        bail!("give --start (the event that puts people in a cohort), or --query");
    };
    Ok(RetentionQuery {
        start: condition(start, "--start")?,
        return_event: args
            .return_event
            .as_deref()
            .map(|e| condition(e, "--return"))
            .transpose()?,
        interval: args.interval.clone(),
        periods: args.periods,
        retention_type: args.retention_type.clone(),
        cumulative: args.cumulative,
        range: args.range.range(),
    })
}

fn lifecycle_query(args: &LifecycleArgs) -> anyhow::Result<LifecycleQuery> {
    let Some(event) = &args.event else {
        bail!("give --event (the event that makes people active), or --query");
    };
    Ok(LifecycleQuery {
        event: condition(event, "--event")?,
        interval: args.interval.clone(),
        range: args.range.range(),
    })
}

/// The query from `--query` when given, else from the flags.
fn query_of<Q: DeserializeOwned>(
    file: Option<&PathBuf>,
    from_flags: impl FnOnce() -> anyhow::Result<Q>,
) -> anyhow::Result<Q> {
    let Some(path) = file else {
        return from_flags();
    };
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("{}: not a valid query", path.display()))
}

fn emit<R: Serialize>(json: bool, report: &R, table: impl FnOnce(&R)) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        table(report);
    }
    Ok(())
}

pub fn run(config: &Config, args: ReportArgs) -> anyhow::Result<()> {
    let file = args.query.as_ref();
    match &args.report {
        ReportCommand::Funnel(a) => {
            let query = query_of(file, || funnel_query(a))?;
            let report = query.run(&fresh_store(config)?.snapshot())?;
            emit(args.json, &report, print::print_funnel)
        }
        ReportCommand::Paths(a) => {
            let query = query_of(file, || paths_query(a))?;
            let report = query.run(&fresh_store(config)?.snapshot())?;
            emit(args.json, &report, print::print_paths)
        }
        ReportCommand::Conformance(a) => {
            let query = query_of(file, || conformance_query(a))?;
            let report = query.run(&fresh_store(config)?.snapshot())?;
            emit(args.json, &report, print::print_conformance)
        }
        ReportCommand::Scores(a) => {
            let query = query_of(file, || scores_query(a))?;
            let report = query.run(&fresh_store(config)?.snapshot())?;
            emit(args.json, &report, print::print_scores)
        }
        ReportCommand::JourneyMap(a) => {
            let query = query_of(file, || Ok(journey_map_query(a)))?;
            let report = query.run(&fresh_store(config)?.snapshot())?;
            emit(
                args.json,
                &report,
                crate::report_print_maps::print_journey_map,
            )
        }
        ReportCommand::Retention(a) => {
            let query = query_of(file, || retention_query(a))?;
            let report = query.run(&fresh_store(config)?.snapshot())?;
            emit(
                args.json,
                &report,
                crate::report_print_maps::print_retention,
            )
        }
        ReportCommand::Lifecycle(a) => {
            let query = query_of(file, || lifecycle_query(a))?;
            let report = query.run(&fresh_store(config)?.snapshot())?;
            emit(
                args.json,
                &report,
                crate::report_print_maps::print_lifecycle,
            )
        }
    }
}
