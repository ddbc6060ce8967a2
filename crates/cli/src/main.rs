//! The `percorso` binary.

mod admin_client;
mod analytics_cmd;
mod bench;
mod bench_analytics;
mod bench_journeys;
mod bench_profiles;
mod cli;
mod compaction;
mod config;
mod config_file;
mod csv_mapping;
mod deliveries;
mod demo;
mod events_cmd;
mod generate_cmd;
mod identity_config;
mod import;
mod import_http;
mod journeys_admin_cmd;
mod journeys_cmd;
mod journeys_config;
mod profiles_cmd;
mod rebuild_cmd;
mod report_cmd;
mod report_print;
mod report_print_maps;
mod segments_cmd;
mod serve;
mod sources_cmd;
mod traits_config;

use clap::Parser;

// Ingest allocates many small, short-lived objects per event across threads;
// glibc malloc spent about a third of the server's CPU on them (see
// docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    // The server reports what it does; one-shot commands print their own
    // results and only log problems.
    let default_level = match cli.command {
        cli::Command::Serve(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PERCORSO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
