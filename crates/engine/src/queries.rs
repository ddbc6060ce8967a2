//! What the API asks the engine. Every read first waits for the engine to
//! apply everything appended before it, so a client reads its own writes.

use percorso_profiles::ComputedTrait;
use tokio::sync::oneshot;

use crate::book::ProfileView;
use crate::definitions::{SegmentEntry, SegmentSummary};
use crate::removal::DefinitionKind;
use crate::runner::{Engine, EngineError, Input};
use crate::segments::MembershipChange;

impl Engine {
    pub async fn profile(&self, id: &str) -> Result<Option<ProfileView>, EngineError> {
        self.settle().await?;
        Ok(self.shared.book().view(id, self.now()))
    }

    /// Every profile, once the engine has applied everything appended
    /// before the call. Holds the book while it sweeps the profiles.
    pub async fn all_profiles(&self) -> Result<Vec<ProfileView>, EngineError> {
        self.settle().await?;
        Ok(self.shared.book().all_views(self.now()))
    }

    /// Parses and checks a segment without creating it.
    pub fn validate_segment(&self, text: &str) -> Result<SegmentEntry, EngineError> {
        let book = self.shared.book();
        let entry = book.definitions().parse_segment(text, self.now())?;
        book.definitions().check_new_segment(&entry)?;
        Ok(entry)
    }

    /// Creates a segment; it is back-filled over existing profiles.
    pub async fn create_segment(&self, text: &str) -> Result<SegmentSummary, EngineError> {
        let entry = self.validate_segment(text)?;
        let name = entry.name.clone();
        let (reply, wait) = oneshot::channel();
        self.send(Input::AddSegment(Box::new(entry), reply))?;
        wait.await.map_err(|_| EngineError::Stopped)??;
        self.segment(&name).await
    }

    pub async fn segments(&self) -> Result<Vec<SegmentSummary>, EngineError> {
        self.settle().await?;
        let book = self.shared.book();
        let names: Vec<String> = book
            .definitions()
            .segments
            .iter()
            .map(|s| s.name.clone())
            .collect();
        drop(book);
        names.iter().map(|name| self.summary(name)).collect()
    }

    pub async fn segment(&self, name: &str) -> Result<SegmentSummary, EngineError> {
        self.settle().await?;
        self.summary(name)
    }

    fn summary(&self, name: &str) -> Result<SegmentSummary, EngineError> {
        let book = self.shared.book();
        let entry = book
            .definitions()
            .segment(name)
            .ok_or_else(|| EngineError::NotFound(format!("no segment named '{name}'")))?;
        let backfill = self
            .shared
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .copied();
        Ok(SegmentSummary {
            name: entry.name.clone(),
            description: entry.compiled.definition.description.clone(),
            definition: entry.text.clone(),
            created_at: entry.created_at,
            members: book.members().count(name),
            backfill,
        })
    }

    /// A page of members in id order, after `after`.
    pub async fn members(
        &self,
        name: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, usize), EngineError> {
        self.segment(name).await?;
        let book = self.shared.book();
        Ok((
            book.members().page(name, after, limit),
            book.members().count(name),
        ))
    }

    pub async fn history(
        &self,
        name: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<MembershipChange>, usize), EngineError> {
        self.segment(name).await?;
        Ok(self.shared.book().members().history(name, offset, limit))
    }

    pub async fn create_trait(&self, definition: ComputedTrait) -> Result<(), EngineError> {
        self.shared
            .book()
            .definitions()
            .check_new_trait(&definition)?;
        self.add_trait(definition, false).await
    }

    /// Hands a checked computed trait to the engine thread.
    pub(crate) async fn add_trait(
        &self,
        definition: ComputedTrait,
        from_config: bool,
    ) -> Result<(), EngineError> {
        let (reply, wait) = oneshot::channel();
        self.send(Input::AddTrait {
            definition,
            from_config,
            reply,
        })?;
        wait.await.map_err(|_| EngineError::Stopped)?
    }

    /// Deletes a segment: its definition, membership and history.
    pub async fn delete_segment(&self, name: &str) -> Result<(), EngineError> {
        self.remove(DefinitionKind::Segment, name).await
    }

    /// Deletes a computed trait no segment reads.
    pub async fn delete_trait(&self, name: &str) -> Result<(), EngineError> {
        {
            let book = self.shared.book();
            if book.definitions().from_config.contains(name) {
                return Err(EngineError::InUse(format!(
                    "computed trait '{name}' is declared in the configuration file; remove it there"
                )));
            }
            let readers = book.definitions().segments_reading(name);
            if !readers.is_empty() {
                return Err(EngineError::InUse(format!(
                    "computed trait '{name}' is read by segment(s) {}; delete or change those first",
                    readers.join(", ")
                )));
            }
        }
        self.remove(DefinitionKind::ComputedTrait, name).await
    }

    pub(crate) async fn remove(&self, kind: DefinitionKind, name: &str) -> Result<(), EngineError> {
        let (reply, wait) = oneshot::channel();
        self.send(Input::Remove(kind, name.to_owned(), reply))?;
        wait.await.map_err(|_| EngineError::Stopped)?
    }

    pub async fn traits(&self) -> Result<Vec<ComputedTrait>, EngineError> {
        self.settle().await?;
        Ok(self.shared.book().definitions().computed.clone())
    }
}

impl Engine {
    /// The merge audit trail of a profile, oldest first.
    pub async fn merges(&self, id: &str) -> Result<Vec<crate::book::MergeRecord>, EngineError> {
        self.settle().await?;
        Ok(self.shared.book().merges(id).to_vec())
    }

    /// Recorded segment membership of a profile: `(segment, member, since)`.
    pub async fn memberships(&self, id: &str) -> Result<Vec<(String, bool, i64)>, EngineError> {
        self.settle().await?;
        Ok(self.shared.book().memberships(id))
    }

    /// The live profile an id stands for, once everything is applied.
    pub async fn canonical(&self, id: &str) -> Result<Option<String>, EngineError> {
        self.settle().await?;
        Ok(self.shared.book().live_profile(id))
    }
}
