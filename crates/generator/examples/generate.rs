//! Generates a dataset and reports the speed, for measuring the generator.
//!
//! `cargo run --release -p percorso-generator --example generate -- \
//!     [profiles] [days] [seed] [output path, default /dev/null] [threads]`
//!
//! Prints the summary counts, events per second and the planted truths.

use std::fs::File;
use std::io::BufWriter;
use std::time::Instant;

use percorso_generator::{generate, GeneratorConfig};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| {
        args.get(i)
            .and_then(|a| a.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let mut cfg = GeneratorConfig::new(number(0, 10_000), number(1, 30) as u32, number(2, 42));
    if let Some(threads) = args.get(4).and_then(|a| a.parse().ok()) {
        cfg.threads = threads;
    }
    let path = args.get(3).map_or("/dev/null", String::as_str);
    let out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let began = Instant::now();
    let summary = generate(&cfg, out)?;
    let seconds = began.elapsed().as_secs_f64();
    eprintln!(
        "{} profiles, {} events, {} bytes ({:.0} B/event) in {:.2} s with {} threads: {:.0} events/s",
        summary.profiles,
        summary.events,
        summary.bytes,
        summary.bytes as f64 / summary.events.max(1) as f64,
        seconds,
        cfg.threads,
        summary.events as f64 / seconds,
    );
    let truths = serde_json::to_string_pretty(&summary.truths).map_err(std::io::Error::other)?;
    println!("{truths}");
    Ok(())
}
