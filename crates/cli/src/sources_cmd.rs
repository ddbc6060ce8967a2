//! `percorso sources`.

use clap::Subcommand;
use percorso_collect::{DataDir, SourceRegistry};
use percorso_core::{format_millis, Clock, SystemClock};

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// Create a source; its new write key is the last line printed.
    Create {
        /// Name of the source: letters, digits, '-', '_' or '.'.
        name: String,
    },
    /// List sources with their write keys.
    List,
}

pub fn run(config: &Config, command: SourcesCommand) -> anyhow::Result<()> {
    let data = DataDir::new(&config.data_dir);
    data.create()?;
    let registry = SourceRegistry::open(data.sources())?;
    match command {
        SourcesCommand::Create { name } => {
            let source = registry.create(&name, format_millis(SystemClock.now_millis()))?;
            println!(
                "created source '{}' ({}) in {}",
                source.name,
                source.id,
                data.root().display()
            );
            println!("write key:");
            println!("{}", source.write_key);
        }
        SourcesCommand::List => {
            let sources = registry.list()?;
            if sources.is_empty() {
                println!(
                    "no sources in {}; create one with `percorso sources create NAME`",
                    data.root().display()
                );
            }
            println!("{:<24} {:<22} {:<34} CREATED", "NAME", "ID", "WRITE KEY");
            for s in sources {
                println!(
                    "{:<24} {:<22} {:<34} {}",
                    s.name, s.id, s.write_key, s.created_at
                );
            }
        }
    }
    Ok(())
}
