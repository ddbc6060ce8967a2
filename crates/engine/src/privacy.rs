//! Privacy requests: erasing a person everywhere Percorso holds them.

use percorso_collect::ErasureReport;
use tokio::sync::oneshot;

use crate::runner::{Engine, EngineError, Input};

impl Engine {
    /// Erases the person holding profile `id` (or any id merged into it):
    /// their events from the log, their identifiers from the identity
    /// graph, and everything derived — traits, computed traits, consent,
    /// segment membership and its history, timers, merge trail. A replay
    /// of the log does not bring any of it back. `None` for an unknown id.
    pub async fn erase_profile(&self, id: &str) -> Result<Option<ErasureReport>, EngineError> {
        // Derived events already on their way land first, so they are
        // erased with the rest instead of arriving after.
        self.settle().await?;
        let report = self
            .collector
            .erase_profile(id)
            .await
            .map_err(EngineError::storage)?;
        let Some(report) = report else {
            return Ok(None);
        };
        let (done, wait) = oneshot::channel();
        self.send(Input::Erase(report.profiles.clone(), done))?;
        wait.await.map_err(|_| EngineError::Stopped)?;
        Ok(Some(report))
    }
}
