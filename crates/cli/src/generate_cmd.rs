//! `percorso generate`: realistic multichannel journeys as JSONL.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use percorso_generator::{generate, GeneratorConfig};

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of people.
    #[arg(long, default_value_t = 1000)]
    pub profiles: u64,
    /// Days of history, starting 2026-01-01.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file; '-' or omitted for standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Also print the planted truths (channel effects, funnel drop-off,
    /// multi-device share, ...) as JSON: to stdout when --output is a file,
    /// else to stderr.
    #[arg(long)]
    pub truths: bool,
    /// Worker threads (the output does not depend on it).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let mut config = GeneratorConfig::new(args.profiles, args.days, args.seed);
    if let Some(threads) = args.threads {
        config.threads = threads.max(1);
    }
    let started = Instant::now();
    let to_file = args.output.as_ref().filter(|p| p.as_os_str() != "-");
    let summary = match to_file {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            let summary = generate(&config, &mut out)?;
            out.flush()?;
            summary
        }
        None => {
            let stdout = std::io::stdout().lock();
            let mut out = BufWriter::with_capacity(1 << 20, stdout);
            let summary = generate(&config, &mut out)?;
            out.flush()?;
            summary
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} events for {} profiles ({:.1} MB) in {:.2} s ({:.0} events/s)",
        summary.events,
        summary.profiles,
        summary.bytes as f64 / 1e6,
        seconds,
        summary.events as f64 / seconds.max(1e-9)
    );
    if args.truths {
        let truths = serde_json::to_string_pretty(&summary.truths)?;
        if to_file.is_some() {
            println!("{truths}");
        } else {
            eprintln!("{truths}");
        }
    }
    Ok(())
}
