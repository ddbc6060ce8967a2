//! The one path every event takes into the log: normalise, deduplicate,
//! route by profile key, append durably, index; refusals go to quarantine.

use std::sync::{Arc, OnceLock};

use percorso_core::Clock;
use percorso_identity::{GraphRows, IdentityRules};
use percorso_log::{EventLog, LogOptions, OpenMode};
use percorso_store::Store;
use serde_json::Value;

use crate::data_dir::{DataDir, DataDirLock};
use crate::dedup::{dedup_key, DedupIndex};
use crate::dedup_rows::DedupRows;
use crate::erasure::ErasedProfiles;
use crate::error::CollectError;
use crate::event_index::EventIndex;
use crate::identity_stage::IdentityStage;
use crate::incoming::{IncomingItem, IngestOutcome, ItemBody, RejectedItem};
use crate::normalize::{normalize, BatchDefaults};
use crate::quarantine;
use crate::rejection::Rejection;
use crate::routing::{ProfileKeyResolver, UserOrAnonymousId};
use crate::sources::Source;
use crate::storing::{AppendListener, Pending};

/// Settings of the collection layer.
#[derive(Debug, Clone)]
pub struct CollectConfig {
    pub dedup_window_millis: i64,
    pub max_event_bytes: usize,
    pub log: LogOptions,
    pub identity: IdentityRules,
    /// Trait names that are identifiers of a custom kind (`loyalty_card`).
    pub custom_identifiers: Vec<String>,
    /// How often the event index's recent entries and the identity
    /// graph's changes go to the state store.
    pub index_write_every: std::time::Duration,
    /// Written profiles the identity graph keeps in memory at most.
    pub identity_cache_profiles: usize,
}

impl Default for CollectConfig {
    fn default() -> Self {
        Self {
            dedup_window_millis: 24 * 3_600_000,
            max_event_bytes: 32 * 1024,
            log: LogOptions::default(),
            identity: IdentityRules::default(),
            custom_identifiers: Vec::new(),
            index_write_every: std::time::Duration::from_secs(5),
            identity_cache_profiles: 200_000,
        }
    }
}

/// Block cache of the state store, shared by its tables.
const STORE_CACHE_BYTES: u64 = 64 << 20;

/// The collection layer over one data directory.
#[derive(Debug)]
pub struct Collector {
    pub(crate) log: EventLog,
    pub(crate) quarantine: EventLog,
    pub(crate) dedup: DedupIndex,
    pub(crate) index: EventIndex,
    pub(crate) identity: IdentityStage,
    /// The data directory's state store, held by a writing collector: the
    /// event index lives there, and the profile engine's state.
    store: Option<Store>,
    clock: Arc<dyn Clock>,
    config: CollectConfig,
    /// Routes events identity could not resolve (all ids blocked).
    pub(crate) fallback_key: Arc<dyn ProfileKeyResolver>,
    pub(crate) listener: OnceLock<Arc<dyn AppendListener>>,
    /// Ingest holds it shared, an erasure alone (see `erasure`).
    pub(crate) erase_gate: tokio::sync::RwLock<()>,
    pub(crate) erased: ErasedProfiles,
    _lock: Option<DataDirLock>,
}

impl Collector {
    /// Opens the data directory, recovering the log and rebuilding the
    /// deduplication window and the event index from it. In read-write mode
    /// the directory's writer lock is held for the collector's lifetime.
    pub fn open(
        data: &DataDir,
        config: CollectConfig,
        clock: Arc<dyn Clock>,
        mode: OpenMode,
    ) -> Result<Self, CollectError> {
        let lock = match mode {
            OpenMode::ReadWrite => Some(data.lock_for_writing()?),
            OpenMode::ReadOnly => None,
        };
        let (log, _) = EventLog::open(&data.events(), config.log, mode)?;
        let quarantine_options = LogOptions {
            partitions: 1,
            ..config.log
        };
        let (quarantine, _) = EventLog::open(&data.quarantine(), quarantine_options, mode)?;
        // Only the writer may open the store (it locks it); a reader
        // beside a running server keeps its index in memory.
        let store = match mode {
            OpenMode::ReadWrite => Some(Store::open(&data.state(), STORE_CACHE_BYTES)?),
            OpenMode::ReadOnly => None,
        };
        let index = match &store {
            Some(store) => EventIndex::stored(store)?,
            None => EventIndex::default(),
        };
        let identity = IdentityStage::new(
            config.identity.clone(),
            config.custom_identifiers.clone(),
            store
                .as_ref()
                .map(|store| GraphRows::open(store, &data.state_keys()))
                .transpose()?,
            config.identity_cache_profiles,
        )?;
        let dedup = match &store {
            Some(store) => DedupIndex::stored(
                config.dedup_window_millis,
                DedupRows::open(store, config.dedup_window_millis)?,
            ),
            None => DedupIndex::new(config.dedup_window_millis),
        };
        let collector = Self {
            log,
            quarantine,
            dedup,
            index,
            store,
            identity,
            clock,
            config,
            fallback_key: Arc::new(UserOrAnonymousId),
            listener: OnceLock::new(),
            erase_gate: tokio::sync::RwLock::new(()),
            erased: ErasedProfiles::load(data.erased_profiles())?,
            _lock: lock,
        };
        collector.rebuild_from_log(mode)?;
        Ok(collector)
    }

    pub fn log(&self) -> &EventLog {
        &self.log
    }

    /// The state store, when this collector writes the data directory.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    pub fn config(&self) -> &CollectConfig {
        &self.config
    }

    /// The identity graph built from everything collected.
    pub fn identity(&self) -> &IdentityStage {
        &self.identity
    }

    /// Collects `items` sent by `source`. Returns once every stored event
    /// is durable and every refused one is in the quarantine.
    pub async fn ingest(
        &self,
        source: &Source,
        route_type: Option<&str>,
        defaults: &BatchDefaults,
        items: Vec<IncomingItem>,
    ) -> Result<IngestOutcome, CollectError> {
        let now = self.clock.now_millis();
        let mut outcome = IngestOutcome {
            received: items.len(),
            ..IngestOutcome::default()
        };
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        for item in items {
            let (text, fallback_message_id) = match item.body {
                ItemBody::Refused { raw, rejection } => {
                    refused.push((item.origin, rejection, raw));
                    continue;
                }
                ItemBody::Normalized(event) => {
                    debug_assert_eq!(
                        std::str::from_utf8(&event.json)
                            .ok()
                            .and_then(|text| normalize(
                                text,
                                None,
                                None,
                                &BatchDefaults::default(),
                                event.received_at
                            )
                            .ok()),
                        Some(event.clone()),
                        "an event stated in stored form changes when normalized"
                    );
                    accepted.push(Pending {
                        dedup_key: dedup_key(&source.id, &event.message_id),
                        event,
                        profile: item.profile,
                        leads: [None; 2],
                    });
                    continue;
                }
                ItemBody::Json {
                    text,
                    fallback_message_id,
                } => (text, fallback_message_id),
            };
            if text.len() > self.config.max_event_bytes {
                let rejection = Rejection::new(
                    "event_too_large",
                    format!(
                        "event is {} bytes; the limit is {} bytes",
                        text.len(),
                        self.config.max_event_bytes
                    ),
                );
                refused.push((item.origin, rejection, as_sent(text)));
                continue;
            }
            let normalized = normalize(
                &text,
                fallback_message_id.as_deref(),
                route_type,
                defaults,
                now,
            );
            match normalized {
                Ok(event) => {
                    let key = dedup_key(&source.id, &event.message_id);
                    accepted.push(Pending {
                        event,
                        dedup_key: key,
                        profile: item.profile,
                        leads: [None; 2],
                    });
                }
                Err(rejection) => refused.push((item.origin, rejection, as_sent(text))),
            }
        }
        if let Some(backlog) = self.listener.get().and_then(|l| l.backlog()) {
            backlog.room().await;
        }
        self.store_once(source, accepted, now, &mut outcome).await?;
        self.quarantine_refused(source, refused, now, &mut outcome)
            .await?;
        self.count(source, &outcome);
        Ok(outcome)
    }

    async fn quarantine_refused(
        &self,
        source: &Source,
        refused: Vec<(crate::Origin, Rejection, Value)>,
        now: i64,
        outcome: &mut IngestOutcome,
    ) -> Result<(), CollectError> {
        if refused.is_empty() {
            return Ok(());
        }
        let payloads = refused
            .iter()
            .map(|(origin, rejection, raw)| {
                quarantine::encode(&quarantine::new_entry(
                    now,
                    source,
                    origin.to_string(),
                    rejection,
                    raw.clone(),
                ))
            })
            .collect();
        self.quarantine.append(0, payloads).await?;
        outcome.rejected = refused
            .into_iter()
            .map(|(origin, rejection, _)| RejectedItem::new(origin, rejection))
            .collect();
        Ok(())
    }

    /// Keeps a request that could not even be split into events (its
    /// body is not JSON), so that it is not lost without a trace.
    pub async fn quarantine_unreadable(
        &self,
        source: &Source,
        origin: crate::Origin,
        raw: &[u8],
        rejection: Rejection,
    ) -> Result<(), CollectError> {
        let now = self.clock.now_millis();
        let text = Value::String(quarantine::redact_write_keys(&String::from_utf8_lossy(raw)));
        let mut outcome = IngestOutcome::default();
        self.quarantine_refused(source, vec![(origin, rejection, text)], now, &mut outcome)
            .await?;
        self.count(source, &outcome);
        Ok(())
    }

    fn count(&self, source: &Source, outcome: &IngestOutcome) {
        let name = source.name.clone();
        metrics::counter!("percorso_events_received_total", "source" => name.clone())
            .increment(outcome.received as u64);
        metrics::counter!("percorso_events_stored_total", "source" => name.clone())
            .increment(outcome.stored as u64);
        metrics::counter!("percorso_events_duplicate_total", "source" => name.clone())
            .increment(outcome.duplicates as u64);
        for rejected in &outcome.rejected {
            metrics::counter!("percorso_events_rejected_total", "source" => name.clone(), "code" => rejected.code)
                .increment(1);
        }
    }

    /// `Err` with the reason when the event log or the quarantine stopped
    /// accepting writes (after a failed write or fsync; restart to recover).
    pub fn health(&self) -> Result<(), String> {
        self.log.health()?;
        self.quarantine.health()
    }

    /// Forgets deduplication keys that left the window.
    pub fn prune_dedup(&self) -> usize {
        self.dedup.prune(self.clock.now_millis())
    }
}

/// A refused message as it will be shown in the quarantine: its JSON when
/// it is JSON, else its text; never the write key it may carry.
fn as_sent(text: String) -> Value {
    match serde_json::from_str(&text) {
        Ok(Value::Object(mut fields)) => {
            fields.remove("writeKey");
            Value::Object(fields)
        }
        Ok(other) => other,
        Err(_) => Value::String(text),
    }
}
