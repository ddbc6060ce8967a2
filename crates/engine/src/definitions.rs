//! What the engine computes: computed traits and segments, declared through
//! the API and kept in `definitions.json` in the data directory (config,
//! not derived state: a rebuild keeps it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use percorso_profiles::segment::{parse_segment, CompiledSegment};
use percorso_profiles::{ComputedTrait, Projection};
use serde::{Deserialize, Serialize};

use crate::computations::Computation;
use crate::removal::Removal;
use crate::runner::EngineError;

/// A segment as declared: its text is kept as sent, so the user sees their
/// own YAML or JSON back.
#[derive(Debug, Clone)]
pub struct SegmentEntry {
    pub name: String,
    pub text: String,
    pub created_at: i64,
    /// Numbers this incarnation of the name: a segment deleted and created
    /// again gets a new one, so the log's membership events of the old one
    /// are told apart (and its `messageId`s are not reused).
    pub generation: u64,
    pub compiled: CompiledSegment,
    /// The profile and computed traits the rule reads, looked up on every
    /// event that changes one, so kept rather than walked each time.
    pub trait_names: Vec<String>,
    /// The computed traits among `trait_names`, with their computations
    /// (by position; kept by [`Definitions::reindex`] as definitions come
    /// and go).
    pub computed_reads: Vec<(String, usize)>,
    /// The computation (by position) of each implied trait.
    pub slots: Vec<usize>,
}

/// A segment as listed by the API.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentSummary {
    pub name: String,
    pub description: Option<String>,
    pub definition: String,
    pub created_at: i64,
    pub members: usize,
    /// `None` once back-filled; else how far it got over the events that
    /// existed when the segment was created.
    pub backfill: Option<BackfillProgress>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct BackfillProgress {
    pub read: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Definitions {
    pub computed: Vec<ComputedTrait>,
    /// The computation (by position) of each computed trait.
    pub computed_slots: Vec<usize>,
    pub segments: Vec<SegmentEntry>,
    /// What profiles keep state for (see `computations.rs`).
    pub computations: Vec<Computation>,
    /// Computed traits declared in the configuration file rather than
    /// through the API: the file owns them (see `Engine::declare_config_traits`).
    pub from_config: BTreeSet<String>,
    /// The generation the next segment gets.
    pub next_generation: u64,
    /// Bumped by each deletion: stored profile states made under an older
    /// layout have the deleted positions taken out when read.
    pub layout: u32,
    pub removals: Vec<Removal>,
    /// What of an event the definitions read (kept by
    /// [`Definitions::reindex`]); records are decoded through it.
    pub projection: Arc<Projection>,
    /// Paths of an event the journeys read (not stored here: the journey
    /// ledger holds the journeys).
    pub journey_paths: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct DefinitionsFile {
    #[serde(default)]
    computed_traits: Vec<ComputedTrait>,
    #[serde(default)]
    segments: Vec<StoredSegment>,
    /// Absent from files written before computations were shared.
    #[serde(default)]
    computations: Option<Vec<ComputedTrait>>,
    #[serde(default)]
    computed_slots: Vec<usize>,
    #[serde(default)]
    traits_from_config: BTreeSet<String>,
    #[serde(default)]
    next_generation: u64,
    #[serde(default)]
    layout: u32,
    #[serde(default)]
    removals: Vec<Removal>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredSegment {
    name: String,
    definition: String,
    created_at: i64,
    #[serde(default)]
    generation: u64,
    #[serde(default)]
    slots: Vec<usize>,
}

impl Definitions {
    /// Parses and checks a new segment; every problem names its place.
    pub fn parse_segment(&self, text: &str, now: i64) -> Result<SegmentEntry, EngineError> {
        let definition = parse_segment(text).map_err(|e| EngineError::Invalid(e.to_string()))?;
        check_name(&definition.name, "name")?;
        let compiled = CompiledSegment::compile(definition);
        let trait_names = compiled
            .trait_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        Ok(SegmentEntry {
            trait_names,
            computed_reads: Vec::new(),
            slots: Vec::new(),
            generation: self.next_generation,
            name: compiled.definition.name.clone(),
            text: text.to_owned(),
            created_at: now,
            compiled,
        })
    }

    pub fn check_new_segment(&self, entry: &SegmentEntry) -> Result<(), EngineError> {
        if self.segment(&entry.name).is_some() {
            return Err(EngineError::Exists(format!(
                "a segment named '{}' already exists",
                entry.name
            )));
        }
        Ok(())
    }

    pub fn check_new_trait(&self, definition: &ComputedTrait) -> Result<(), EngineError> {
        definition
            .validate()
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        if self.computed.iter().any(|c| c.name == definition.name) {
            return Err(EngineError::Exists(format!(
                "a computed trait named '{}' already exists",
                definition.name
            )));
        }
        Ok(())
    }

    pub fn segment(&self, name: &str) -> Option<&SegmentEntry> {
        self.segments.iter().find(|s| s.name == name)
    }

    /// A segment and its position.
    pub fn segment_at(&self, name: &str) -> Option<(usize, &SegmentEntry)> {
        self.segments
            .iter()
            .enumerate()
            .find(|(_, s)| s.name == name)
    }

    /// Works out again which computed traits (by position) each segment
    /// reads; call after any definition is added or removed.
    pub fn reindex(&mut self) {
        self.projection = Arc::new(Projection::with_paths(
            self.computations.iter().map(|c| &c.definition),
            self.journey_paths.iter().map(String::as_str),
        ));
        for segment in &mut self.segments {
            segment.computed_reads = self
                .computed
                .iter()
                .zip(&self.computed_slots)
                .filter(|(c, _)| segment.trait_names.contains(&c.name))
                .map(|(c, &slot)| (c.name.clone(), slot))
                .collect();
        }
    }

    pub fn computed_trait(&self, name: &str) -> Option<&ComputedTrait> {
        self.computed_at(name).map(|(_, c)| c)
    }

    /// A computed trait and its position.
    pub fn computed_at(&self, name: &str) -> Option<(usize, &ComputedTrait)> {
        self.computed
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }

    /// The segments whose rule reads trait `name`.
    pub fn segments_reading(&self, name: &str) -> Vec<&str> {
        self.segments
            .iter()
            .filter(|s| s.trait_names.iter().any(|t| t == name))
            .map(|s| s.name.as_str())
            .collect()
    }
}

fn check_name(name: &str, field: &str) -> Result<(), EngineError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(EngineError::Invalid(format!(
            "{field}: '{name}' must be 1-64 letters, digits, '_' or '-' (it names the segment in URLs and events)"
        )))
    }
}

/// Where definitions are kept.
#[derive(Debug, Clone)]
pub struct DefinitionStore {
    path: PathBuf,
}

impl DefinitionStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<Definitions, EngineError> {
        let bad =
            |reason: String| EngineError::Storage(format!("{}: {reason}", self.path.display()));
        let file: DefinitionsFile = match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DefinitionsFile::default(),
            Err(e) => return Err(bad(e.to_string())),
        };
        let mut definitions = Definitions {
            computed: file.computed_traits,
            computed_slots: file.computed_slots,
            segments: Vec::new(),
            computations: Vec::new(),
            from_config: file.traits_from_config,
            next_generation: file.next_generation,
            layout: file.layout,
            removals: file.removals,
            projection: Arc::default(),
            journey_paths: Vec::new(),
        };
        for stored in file.segments {
            let mut entry = definitions
                .parse_segment(&stored.definition, stored.created_at)
                .map_err(|e| bad(format!("segment '{}': {e}", stored.name)))?;
            entry.created_at = stored.created_at;
            entry.generation = stored.generation;
            entry.slots = stored.slots;
            definitions.segments.push(entry);
        }
        definitions.computations = file
            .computations
            .unwrap_or_default()
            .into_iter()
            .map(|definition| Computation {
                definition,
                filler: None,
            })
            .collect();
        // A file written before computations were shared (or edited by
        // hand): positions of old deletions mean nothing in a new layout,
        // and the state made under the old one is rebuilt from the log
        // (the fingerprint differs).
        if !definitions.slots_agree() {
            tracing::info!(path = %self.path.display(), "computations laid out afresh");
            definitions.lay_out_computations();
            definitions.removals.clear();
        }
        definitions.reindex();
        Ok(definitions)
    }

    pub fn save(&self, definitions: &Definitions) -> Result<(), EngineError> {
        let body = serde_json::to_vec_pretty(&definitions.to_file()).unwrap_or_default();
        percorso_collect::atomic_write(&self.path, &body).map_err(EngineError::storage)
    }
}

impl Definitions {
    /// Identifies these definitions: the state store holds state made
    /// under one set of definitions, and is rebuilt under any other.
    pub fn fingerprint(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&serde_json::to_vec(&self.to_file()).unwrap_or_default())
    }

    fn to_file(&self) -> DefinitionsFile {
        let definitions = self;
        DefinitionsFile {
            computed_traits: definitions.computed.clone(),
            computations: Some(
                definitions
                    .computations
                    .iter()
                    .map(|c| c.definition.clone())
                    .collect(),
            ),
            computed_slots: definitions.computed_slots.clone(),
            segments: definitions
                .segments
                .iter()
                .map(|s| StoredSegment {
                    name: s.name.clone(),
                    definition: s.text.clone(),
                    created_at: s.created_at,
                    generation: s.generation,
                    slots: s.slots.clone(),
                })
                .collect(),
            traits_from_config: definitions.from_config.clone(),
            next_generation: definitions.next_generation,
            layout: definitions.layout,
            removals: definitions.removals.clone(),
        }
    }
}
