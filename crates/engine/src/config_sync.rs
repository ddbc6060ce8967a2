//! Computed traits declared in the configuration file. The file owns the
//! traits it declares: at start each one is added if new (and back-filled),
//! replaced if its definition changed (and back-filled afresh), and a trait
//! the file used to declare but no longer does is deleted. Traits declared
//! through the API are left alone unless the file declares the same name,
//! in which case the file's definition wins and the file owns it.

use crate::removal::DefinitionKind;
use crate::runner::{Engine, EngineError};
use percorso_profiles::ComputedTrait;

/// What applying the file's computed traits changed, by trait name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigSyncReport {
    pub added: Vec<String>,
    pub replaced: Vec<String>,
    pub unchanged: Vec<String>,
    pub removed: Vec<String>,
}

impl Engine {
    /// Makes the engine's computed traits match the file's `declared` ones.
    /// Checks everything before changing anything.
    pub async fn declare_config_traits(
        &self,
        declared: &[ComputedTrait],
    ) -> Result<ConfigSyncReport, EngineError> {
        let mut report = ConfigSyncReport::default();
        let mut changes = Vec::new();
        {
            let book = self.shared.book();
            let definitions = book.definitions();
            for (index, definition) in declared.iter().enumerate() {
                definition
                    .validate()
                    .map_err(|e| EngineError::Invalid(format!("computed_traits[{index}]: {e}")))?;
                if declared[..index].iter().any(|d| d.name == definition.name) {
                    return Err(EngineError::Invalid(format!(
                        "computed_traits[{index}]: '{}' is declared twice",
                        definition.name
                    )));
                }
                let owned = definitions.from_config.contains(&definition.name);
                match definitions.computed_trait(&definition.name) {
                    Some(existing) if existing == definition && owned => {
                        report.unchanged.push(definition.name.clone());
                    }
                    Some(_) => {
                        report.replaced.push(definition.name.clone());
                        changes.push(definition.clone());
                    }
                    None => {
                        report.added.push(definition.name.clone());
                        changes.push(definition.clone());
                    }
                }
            }
            for name in &definitions.from_config {
                if declared.iter().any(|d| &d.name == name) {
                    continue;
                }
                let readers = definitions.segments_reading(name);
                if !readers.is_empty() {
                    return Err(EngineError::InUse(format!(
                        "computed trait '{name}' is no longer in the configuration file, but segment(s) {} read it; delete or change those first",
                        readers.join(", ")
                    )));
                }
                report.removed.push(name.clone());
            }
        }
        for name in &report.removed {
            self.remove(DefinitionKind::ComputedTrait, name).await?;
        }
        for definition in changes {
            self.add_trait(definition, true).await?;
        }
        Ok(report)
    }
}
