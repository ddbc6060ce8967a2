//! The identity graph's rows in the state store, one table:
//!
//! - `o` kind value → the live profile holding that identifier;
//! - `p` profile → its cluster: creation number, identifiers, and every
//!   profile merged into it;
//! - `f` merged profile → the live profile it was merged into;
//! - `m` meta: the next creation number, the count of live profiles, and
//!   how far the log is covered (written by the caller with the rows).
//!
//! A cluster holds everything the graph needs to match against a person,
//! so the pager moves whole clusters between memory and the store.

use percorso_store::{Batch, Store, StoreError, Table};
use serde::{Deserialize, Serialize};

use crate::graph::ProfileId;
use crate::identifier::Identifier;

const NEXT_KEY: &[u8] = b"m:next";
const LIVE_KEY: &[u8] = b"m:live";
const COVERED_KEY: &[u8] = b"m:covered";

/// One live profile as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredCluster {
    pub created: u64,
    pub identifiers: Vec<Identifier>,
    /// Sorted.
    pub absorbed: Vec<ProfileId>,
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
}

fn owner_key(identifier: &Identifier) -> Vec<u8> {
    let kind = identifier.kind.as_str().as_bytes();
    let mut key = Vec::with_capacity(3 + kind.len() + identifier.value.len());
    key.push(b'o');
    // Length-prefixed: a kind may hold any character.
    key.extend_from_slice(&(kind.len() as u16).to_be_bytes());
    key.extend_from_slice(kind);
    key.extend_from_slice(identifier.value.as_bytes());
    key
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
    ProfileId(String::from_utf8_lossy(&bytes).into_owned())
}

impl GraphRows {
    /// The graph's table in `store`.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            store: store.clone(),
            table: store.table("identity")?,
        })
    }

    pub fn batch(&self) -> Batch {
        self.store.batch()
    }

    pub(crate) fn owner(&self, identifier: &Identifier) -> Result<Option<ProfileId>, StoreError> {
        Ok(self.table.get(&owner_key(identifier))?.map(text))
    }

    pub(crate) fn cluster(&self, profile: &str) -> Result<Option<StoredCluster>, StoreError> {
        let Some(bytes) = self.table.get(&profile_key(b'p', profile))? else {
            return Ok(None);
        };
        // Rows are written by this module only; one that does not decode
        // is damage, and matching against half a person would be wrong.
        rmp_serde::from_slice(&bytes)
            .map(Some)
            .map_err(|e| self.table.damaged(&format!("cluster {profile}: {e}")))
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
        Ok(self
            .table
            .get(COVERED_KEY)?
            .unwrap_or_default()
            .chunks_exact(8)
            .filter_map(|c| c.try_into().ok().map(u64::from_be_bytes))
            .collect())
    }

    pub(crate) fn put_cluster(
        &self,
        batch: &mut Batch,
        profile: &ProfileId,
        cluster: &StoredCluster,
    ) {
        let encoded = rmp_serde::to_vec(cluster).unwrap_or_default();
        batch.put(&self.table, &profile_key(b'p', &profile.0), &encoded);
        for identifier in &cluster.identifiers {
            batch.put(&self.table, &owner_key(identifier), profile.0.as_bytes());
        }
        for merged in &cluster.absorbed {
            batch.put(
                &self.table,
                &profile_key(b'f', &merged.0),
                profile.0.as_bytes(),
            );
        }
    }

    /// Deletes a profile's row (merged away or forgotten).
    pub(crate) fn delete_profile(&self, batch: &mut Batch, profile: &ProfileId) {
        batch.delete(&self.table, &profile_key(b'p', &profile.0));
    }

    /// Deletes everything a forgotten cluster wrote.
    pub(crate) fn delete_cluster(
        &self,
        batch: &mut Batch,
        profile: &ProfileId,
        cluster: &StoredCluster,
    ) {
        self.delete_profile(batch, profile);
        for identifier in &cluster.identifiers {
            batch.delete(&self.table, &owner_key(identifier));
        }
        for merged in &cluster.absorbed {
            batch.delete(&self.table, &profile_key(b'f', &merged.0));
        }
    }

    pub(crate) fn put_meta(&self, batch: &mut Batch, meta: GraphMeta, covered: &[u64]) {
        batch.put(&self.table, NEXT_KEY, &meta.next_profile.to_be_bytes());
        batch.put(&self.table, LIVE_KEY, &meta.live.to_be_bytes());
        let covered: Vec<u8> = covered.iter().flat_map(|o| o.to_be_bytes()).collect();
        batch.put(&self.table, COVERED_KEY, &covered);
    }
}
