//! `percorso rebuild`: replays the event log into fresh derived state and
//! summarises it. Safe beside a running server (the log is opened
//! read-only); `--digest` writes the full state for comparison with the
//! server's.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use percorso_collect::{Collector, DataDir};
use percorso_core::{Clock, SystemClock};
use percorso_engine::{rebuild, DefinitionStore};
use percorso_log::OpenMode;

use crate::config::Config;

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// Also write every profile's derived state (JSON) to this file.
    #[arg(long, value_name = "FILE")]
    pub digest: Option<PathBuf>,
}

pub fn run(config: &Config, args: RebuildArgs) -> anyhow::Result<()> {
    let data = DataDir::new(&config.data_dir);
    if !data.events().exists() {
        bail!("no event log in {} (wrong --data?)", data.root().display());
    }
    let started = Instant::now();
    let clock = SystemClock;
    let collector = Collector::open(
        &data,
        config.collect.clone(),
        Arc::new(SystemClock),
        OpenMode::ReadOnly,
    )
    .with_context(|| format!("cannot open {}", data.root().display()))?;
    let identities = collector.identity().graph().profile_count();
    let definitions = DefinitionStore::new(data.definitions()).load()?;
    let partitions: Vec<u16> = (0..collector.log().partition_count()).collect();
    let now = clock.now_millis();
    let mut book = rebuild(collector.log(), definitions, &partitions, now)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "rebuilt in {:.2} s: {} profiles in the identity graph, {} with events",
        started.elapsed().as_secs_f64(),
        identities,
        book.profile_count()
    )?;
    for segment in &book.definitions().segments {
        writeln!(
            out,
            "segment {}: {} members recorded",
            segment.name,
            book.members().count(&segment.name)
        )?;
    }
    for computed in &book.definitions().computed {
        writeln!(out, "computed trait {}", computed.name)?;
    }
    if let Some(path) = args.digest {
        let digest = book.digest(now);
        let body = serde_json::to_vec_pretty(&digest)?;
        std::fs::write(&path, body).with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(
            out,
            "digest of {} profiles in {}",
            digest.len(),
            path.display()
        )?;
    }
    Ok(())
}
