//! `percorso events`: read stored events, or the quarantine, from a data
//! directory (safe while a server is writing to it).

use std::io::Write;
use std::sync::Arc;

use anyhow::bail;
use clap::Args;
use percorso_collect::{Collector, DataDir, EventQuery, IdKind};
use percorso_core::SystemClock;
use percorso_log::OpenMode;

use crate::config::Config;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Events of this userId.
    #[arg(long, conflicts_with = "anonymous_id")]
    pub user_id: Option<String>,
    /// Events of this anonymousId.
    #[arg(long)]
    pub anonymous_id: Option<String>,
    /// Show refused events (with the reason) instead.
    #[arg(long, conflicts_with_all = ["user_id", "anonymous_id"])]
    pub quarantine: bool,
    /// At most this many, in time order.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// With --quarantine: start at this quarantine offset.
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
}

pub fn run(config: &Config, args: EventsArgs) -> anyhow::Result<()> {
    let data = DataDir::new(&config.data_dir);
    if !data.events().exists() {
        bail!(
            "no event log in {} (nothing has been stored yet, or wrong --data)",
            data.root().display()
        );
    }
    let collector = Collector::open(
        &data,
        config.collect.clone(),
        Arc::new(SystemClock),
        OpenMode::ReadOnly,
    )?;
    let mut out = std::io::stdout().lock();
    if args.quarantine {
        let page = collector.quarantined(args.offset, args.limit)?;
        for item in &page.items {
            writeln!(out, "{}", serde_json::to_string(item)?)?;
        }
        eprintln!(
            "{} quarantined event(s) shown; {} in all",
            page.items.len(),
            page.end
        );
        return Ok(());
    }
    let (kind, id) = match (args.user_id, args.anonymous_id) {
        (Some(id), None) => (IdKind::UserId, id),
        (None, Some(id)) => (IdKind::AnonymousId, id),
        _ => bail!("give --user-id, --anonymous-id or --quarantine"),
    };
    let page = collector.events(&EventQuery {
        kind,
        id,
        limit: args.limit,
    })?;
    for event in &page.events {
        writeln!(out, "{}", serde_json::to_string(event)?)?;
    }
    eprintln!("{} of {} event(s)", page.events.len(), page.total);
    Ok(())
}
