//! The identity graph's rows in the state store, one table:
//!
//! - `o` keyed hash of kind and value → the live profile holding that
//!   identifier;
//! - `p` profile → its cluster: creation number, every profile merged
//!   into it, and its identifiers sealed with the profile's key (see
//!   `sealing`: no identifier is stored readable);
//! - `f` merged profile → the live profile it was merged into;
//! - `m` meta: the next creation number, the count of live profiles, and
//!   how far the log is covered (written by the caller with the rows).
//!
//! A cluster holds everything the graph needs to match against a person,
//! so the pager moves whole clusters between memory and the store.

use std::path::Path;
use std::sync::Arc;

use percorso_store::{encode_offsets, Batch, Sealer, Store, StoreError, Table};
use serde::{Deserialize, Serialize};

use crate::graph::ProfileId;
use crate::identifier::Identifier;

const NEXT_KEY: &[u8] = b"m:next";
const LIVE_KEY: &[u8] = b"m:live";
const COVERED_KEY: &[u8] = b"m:covered";
/// A hash under the secret, to tell the secret the rows were written with.
const SECRET_CHECK_KEY: &[u8] = b"m:secret";

/// One live profile as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredCluster {
    pub created: u64,
    pub identifiers: Vec<Identifier>,
    /// Sorted.
    pub absorbed: Vec<ProfileId>,
}

/// A cluster row as stored: what identifies the person, sealed.
#[derive(Serialize, Deserialize)]
struct ClusterRow {
    created: u64,
    absorbed: Vec<ProfileId>,
    #[serde(with = "serde_bytes_compat")]
    sealed: Vec<u8>,
}

/// Bytes as a MessagePack binary, not an array of numbers.
mod serde_bytes_compat {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let bytes: &[u8] = Deserialize::deserialize(d)?;
        Ok(bytes.to_vec())
    }
}

/// The counters stored beside the rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct GraphMeta {
    pub next_profile: u64,
    pub live: u64,
}

/// Reads and writes the graph's rows.
#[derive(Debug, Clone)]
pub struct GraphRows {
    store: Store,
    table: Table,
    sealer: Arc<Sealer>,
}

fn profile_key(tag: u8, profile: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + profile.len());
    key.push(tag);
    key.extend_from_slice(profile.as_bytes());
    key
}

fn read_u64(bytes: Option<Vec<u8>>) -> u64 {
    bytes
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map_or(0, u64::from_be_bytes)
}

fn text(bytes: Vec<u8>) -> ProfileId {
    ProfileId(String::from_utf8_lossy(&bytes).into())
}

impl GraphRows {
    /// The graph's table in `store`, with its keys in `key_dir`.
    pub fn open(store: &Store, key_dir: &Path) -> Result<Self, StoreError> {
        let rows = Self {
            store: store.clone(),
            table: store.table("identity")?,
            sealer: Arc::new(Sealer::open(key_dir, "identity")?),
        };
        let check = rows.sealer.hash("", "secret check");
        match rows.table.get(SECRET_CHECK_KEY)? {
            Some(stored) if stored != check => Err(rows.table.damaged(&format!(
                "the identity graph was written with other keys than those in {} \
                 (remove the state store to rebuild it from the log)",
                key_dir.display()
            ))),
            Some(_) => Ok(rows),
            None => {
                let mut batch = rows.batch();
                batch.put(&rows.table, SECRET_CHECK_KEY, &check);
                batch.commit()?;
                Ok(rows)
            }
        }
    }

    fn owner_key(&self, identifier: &Identifier) -> [u8; 17] {
        let mut key = [b'o'; 17];
        key[1..].copy_from_slice(
            &self
                .sealer
                .hash(identifier.kind.as_str(), &identifier.value),
        );
        key
    }

    /// Makes the batches committed so far durable.
    pub(crate) fn persist(&self) -> Result<(), StoreError> {
        self.store.persist()
    }

    pub fn batch(&self) -> Batch {
        self.store.batch()
    }

    pub(crate) fn owner(&self, identifier: &Identifier) -> Result<Option<ProfileId>, StoreError> {
        Ok(self.table.get(&self.owner_key(identifier))?.map(text))
    }

    /// A live profile's cluster; `None` when not stored, or when its key
    /// is shredded (a profile merged away or erased).
    pub(crate) fn cluster(&self, profile: &str) -> Result<Option<StoredCluster>, StoreError> {
        let Some(row) = self.row(profile)? else {
            return Ok(None);
        };
        let Some(plain) = self.sealer.unseal(row.created, &row.sealed)? else {
            return Ok(None);
        };
        let identifiers = rmp_serde::from_slice(&plain).map_err(|e| self.damaged(profile, e))?;
        Ok(Some(StoredCluster {
            created: row.created,
            identifiers,
            absorbed: row.absorbed,
        }))
    }

    fn row(&self, profile: &str) -> Result<Option<ClusterRow>, StoreError> {
        let Some(bytes) = self.table.get(&profile_key(b'p', profile))? else {
            return Ok(None);
        };
        // Rows are written by this module only; one that does not decode
        // is damage, and matching against half a person would be wrong.
        rmp_serde::from_slice(&bytes)
            .map(Some)
            .map_err(|e| self.damaged(profile, e))
    }

    fn damaged(&self, profile: &str, e: impl std::fmt::Display) -> StoreError {
        self.table.damaged(&format!("cluster {profile}: {e}"))
    }

    pub(crate) fn forwarded(&self, profile: &str) -> Result<Option<ProfileId>, StoreError> {
        Ok(self.table.get(&profile_key(b'f', profile))?.map(text))
    }

    pub(crate) fn meta(&self) -> Result<GraphMeta, StoreError> {
        Ok(GraphMeta {
            next_profile: read_u64(self.table.get(NEXT_KEY)?),
            live: read_u64(self.table.get(LIVE_KEY)?),
        })
    }

    /// Per partition of the log, the offset below which every record's
    /// identity facts are in the rows.
    pub fn covered(&self) -> Result<Vec<u64>, StoreError> {
        self.table.get_offsets(COVERED_KEY)
    }

    /// Puts a live profile's rows, sealing its identifiers (making its key
    /// on first use: [`GraphRows::sync_keys`] before the batch commits).
    pub(crate) fn put_cluster(
        &self,
        batch: &mut Batch,
        profile: &ProfileId,
        cluster: &StoredCluster,
    ) -> Result<(), StoreError> {
        let plain = rmp_serde::to_vec(&cluster.identifiers).unwrap_or_default();
        let row = ClusterRow {
            created: cluster.created,
            absorbed: cluster.absorbed.clone(),
            sealed: self.sealer.seal(cluster.created, &plain)?,
        };
        let encoded = rmp_serde::to_vec(&row).unwrap_or_default();
        batch.put(&self.table, &profile_key(b'p', &profile.0), &encoded);
        for identifier in &cluster.identifiers {
            batch.put(
                &self.table,
                &self.owner_key(identifier),
                profile.0.as_bytes(),
            );
        }
        for merged in &cluster.absorbed {
            batch.put(
                &self.table,
                &profile_key(b'f', &merged.0),
                profile.0.as_bytes(),
            );
        }
        Ok(())
    }

    /// Deletes the row of a profile merged away; returns its creation
    /// number (whose key to shred once the batch commits), if stored.
    pub(crate) fn delete_merged(
        &self,
        batch: &mut Batch,
        profile: &ProfileId,
    ) -> Result<Option<u64>, StoreError> {
        let created = self.row(&profile.0)?.map(|row| row.created);
        batch.delete(&self.table, &profile_key(b'p', &profile.0));
        Ok(created)
    }

    /// Deletes everything a forgotten cluster wrote; shred its key once
    /// the batch commits.
    pub(crate) fn delete_cluster(
        &self,
        batch: &mut Batch,
        profile: &ProfileId,
        cluster: &StoredCluster,
    ) {
        batch.delete(&self.table, &profile_key(b'p', &profile.0));
        for identifier in &cluster.identifiers {
            batch.delete(&self.table, &self.owner_key(identifier));
        }
        for merged in &cluster.absorbed {
            batch.delete(&self.table, &profile_key(b'f', &merged.0));
        }
    }

    /// Makes the profile keys made so far durable.
    pub(crate) fn sync_keys(&self) -> Result<(), StoreError> {
        self.sealer.sync()
    }

    /// Makes what profiles `created` sealed unreadable, durably.
    pub(crate) fn shred(&self, created: &[u64]) -> Result<(), StoreError> {
        for &sequence in created {
            self.sealer.shred(sequence)?;
        }
        if !created.is_empty() {
            self.sealer.sync()?;
        }
        Ok(())
    }

    pub(crate) fn put_meta(&self, batch: &mut Batch, meta: GraphMeta, covered: &[u64]) {
        batch.put(&self.table, NEXT_KEY, &meta.next_profile.to_be_bytes());
        batch.put(&self.table, LIVE_KEY, &meta.live.to_be_bytes());
        batch.put(&self.table, COVERED_KEY, &encode_offsets(covered));
    }
}
