//! Command-line surface: every subcommand and its flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

/// Percorso: collect every customer interaction, resolve who it is, and
/// orchestrate each customer's journey in real time.
#[derive(Debug, Parser)]
#[command(
    name = "percorso",
    version,
    propagate_version = true,
    after_help = "Getting started:\n  \
        percorso serve                                  # API on 127.0.0.1:8080, data in ./percorso-data\n  \
        percorso sources create web                     # a write key for your tracking\n  \
        percorso generate --profiles 1000 -o demo.jsonl # realistic journeys\n  \
        percorso import demo.jsonl                      # (with the server stopped)\n  \
        percorso events --user-id USER                  # read a person's events back\n  \
        percorso profiles show --email EMAIL            # their profile, from the running server"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file (TOML). Default: ./percorso.toml when it exists.
    #[arg(long, global = true, env = "PERCORSO_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory holding the event log, sources and admin token.
    /// Default: ./percorso-data.
    #[arg(long, global = true, env = "PERCORSO_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Segment-compatible tracking API and the admin API.
    Serve(crate::serve::ServeArgs),
    /// Import events from a JSONL or CSV file into the data directory.
    Import(crate::import::ImportArgs),
    /// Print the stored events of a user or anonymous id, or the quarantine.
    Events(crate::events_cmd::EventsArgs),
    /// Write realistic multichannel journeys as Segment-shaped JSONL.
    Generate(crate::generate_cmd::GenerateArgs),
    /// Create and list sources (each has its own write key).
    Sources {
        #[command(subcommand)]
        command: crate::sources_cmd::SourcesCommand,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Show profiles: traits, identities, timeline, merges, segments
    /// (asks a running server).
    Profiles(crate::profiles_cmd::ProfilesArgs),
    /// Create, check and list segments and their members (asks a running
    /// server).
    Segments(crate::segments_cmd::SegmentsArgs),
    /// Create and list computed traits (asks a running server).
    Traits(crate::segments_cmd::TraitsArgs),
    /// Check, simulate, deploy and run journeys; read their counters.
    Journeys(crate::journeys_cmd::JourneysArgs),
    /// Replay the event log into fresh derived state (identity graph,
    /// profiles, computed traits, segments) and summarise it.
    Rebuild(crate::rebuild_cmd::RebuildArgs),
    /// The whole cycle in one command: generate and import a dataset, run
    /// example journeys into a built-in capture sink, print a summary
    /// (journey map, funnel, scores, messages) and keep serving.
    Demo(crate::demo::DemoArgs),
    /// SQL over the columnar store (tables events, identities, merges).
    Sql(crate::analytics_cmd::SqlArgs),
    /// Journey reports: funnel, paths, conformance, scores (tables, or --json).
    Report(crate::report_cmd::ReportArgs),
    /// Write the events as Parquet for a warehouse.
    Export(crate::analytics_cmd::ExportArgs),
    /// Measure performance.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the configuration file and print the effective settings, or
    /// every problem with its key.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Drive /v1/batch over loopback with concurrent clients against a fresh
    /// server, and against a no-op handler on the same HTTP stack as baseline.
    Ingest(crate::bench::IngestBenchArgs),
    /// Events through identity, profiles, 10 computed traits and 10
    /// segments; p99 from append to the Segment Entered event; memory.
    Profiles(crate::bench_profiles::ProfilesBenchArgs),
    /// Event to webhook latency under load with 20 live journeys; journey
    /// steps per second; a crowd of timers due in the same minute.
    Journeys(crate::bench_journeys::JourneysBenchArgs),
    /// A 5-step funnel over generated events, against DuckDB and chdb
    /// reading the same Parquet file.
    Analytics(crate::bench_analytics::AnalyticsBenchArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let load = || Config::load(cli.global.config.as_deref(), cli.global.data.as_deref());
    match cli.command {
        Command::Serve(args) => crate::serve::run(load()?, args),
        Command::Import(args) => crate::import::run(&load()?, args),
        Command::Events(args) => crate::events_cmd::run(&load()?, args),
        Command::Generate(args) => crate::generate_cmd::run(args),
        Command::Sources { command } => crate::sources_cmd::run(&load()?, command),
        Command::Config {
            command: ConfigCommand::Check,
        } => crate::config::check(cli.global.config.as_deref(), cli.global.data.as_deref()),
        Command::Profiles(args) => crate::profiles_cmd::run(&load()?, args),
        Command::Segments(args) => crate::segments_cmd::run(&load()?, args),
        Command::Traits(args) => crate::segments_cmd::run_traits(&load()?, args),
        Command::Rebuild(args) => crate::rebuild_cmd::run(&load()?, args),
        Command::Journeys(args) => crate::journeys_cmd::run(args, load),
        Command::Demo(args) => {
            let data = cli
                .global
                .data
                .clone()
                .unwrap_or_else(|| crate::demo::DEFAULT_DATA.into());
            crate::demo::run(
                Config::load(cli.global.config.as_deref(), Some(&data))?,
                args,
            )
        }
        Command::Sql(args) => crate::analytics_cmd::run_sql_command(&load()?, args),
        Command::Report(args) => crate::report_cmd::run(&load()?, args),
        Command::Export(args) => crate::analytics_cmd::run_export(&load()?, args),
        Command::Bench {
            command: BenchCommand::Ingest(args),
        } => crate::bench::run(args),
        Command::Bench {
            command: BenchCommand::Profiles(args),
        } => crate::bench_profiles::run(args),
        Command::Bench {
            command: BenchCommand::Journeys(args),
        } => crate::bench_journeys::run(args),
        Command::Bench {
            command: BenchCommand::Analytics(args),
        } => crate::bench_analytics::run(args),
    }
}
