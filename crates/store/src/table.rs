//! A store of named tables over one fjall database.

use std::path::{Path, PathBuf};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, OwnedWriteBatch};

#[derive(Debug, thiserror::Error)]
#[error("state store {path}: {source}")]
pub struct StoreError {
    path: PathBuf,
    #[source]
    source: Fault,
}

#[derive(Debug, thiserror::Error)]
enum Fault {
    #[error(transparent)]
    Fjall(#[from] fjall::Error),
    #[error("damaged row: {0}")]
    Damaged(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// A failure of a file kept beside the store's tables.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self {
            path: path.to_owned(),
            source: source.into(),
        }
    }
}

/// Bytes a table buffers in memory before writing them out.
const MEMTABLE_BYTES: u64 = 16 << 20;

/// The state store of one data directory.
#[derive(Clone)]
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// One ordered table of byte keys and values.
#[derive(Clone)]
pub struct Table {
    keyspace: Keyspace,
    path: PathBuf,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.keyspace.name())
            .finish()
    }
}

/// Writes to any tables that land together or not at all.
pub struct Batch {
    batch: OwnedWriteBatch,
    path: PathBuf,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("len", &self.batch.len())
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store in `path`, with a block cache
    /// of `cache_bytes`.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let error = |source: fjall::Error| StoreError {
            path: path.to_owned(),
            source: source.into(),
        };
        let db = Database::builder(path)
            .cache_size(cache_bytes)
            // Two cores: one background worker for flushes and compactions.
            .worker_threads(1)
            .open()
            .map_err(error)?;
        Ok(Self {
            db,
            path: path.to_owned(),
        })
    }

    /// The table `name`, created empty the first time.
    pub fn table(&self, name: &str) -> Result<Table, StoreError> {
        // fjall's default memtable (64 MiB per table) held most of the
        // engine's memory; smaller ones flush sooner and keep it bounded.
        let options = || KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES);
        let keyspace = self
            .db
            .keyspace(name, options)
            .map_err(|source| self.error(source))?;
        Ok(Table {
            keyspace,
            path: self.path.clone(),
        })
    }

    /// Makes every batch committed so far durable (batches are not synced
    /// one by one).
    pub fn persist(&self) -> Result<(), StoreError> {
        self.db
            .persist(fjall::PersistMode::SyncData)
            .map_err(|source| self.error(source))
    }

    /// Bytes held in memtables (written, not yet flushed to tables).
    pub fn memtable_bytes(&self) -> u64 {
        self.db.write_buffer_size()
    }

    pub fn batch(&self) -> Batch {
        Batch {
            batch: self.db.batch(),
            path: self.path.clone(),
        }
    }

    fn error(&self, source: fjall::Error) -> StoreError {
        StoreError {
            path: self.path.clone(),
            source: source.into(),
        }
    }
}

impl Table {
    fn error(&self, source: fjall::Error) -> StoreError {
        StoreError {
            path: self.path.clone(),
            source: source.into(),
        }
    }

    /// The error for a row of this table that does not decode.
    pub fn damaged(&self, what: &str) -> StoreError {
        StoreError {
            path: self.path.clone(),
            source: Fault::Damaged(format!("{}: {what}", self.keyspace.name())),
        }
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.keyspace.get(key).map_err(|e| self.error(e))?;
        Ok(value.map(|v| v.to_vec()))
    }

    /// The log offsets stored under `key` (see `encode_offsets`); empty
    /// when there are none.
    pub fn get_offsets(&self, key: &[u8]) -> Result<Vec<u64>, StoreError> {
        Ok(crate::decode_offsets(&self.get(key)?.unwrap_or_default()))
    }

    /// Entries with keys starting with `prefix`, from key `start` on (from
    /// the first such key when `start` sorts before `prefix`), in key order.
    pub fn scan(
        &self,
        prefix: &[u8],
        start: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + '_ {
        let start = start.max(prefix).to_vec();
        // Bounded above by the first key past the prefix: an open-ended
        // range read back nothing for a prefix in the middle of a table
        // recovered from its journal (seen in a restarted server, not
        // reproduced in a test).
        let (_, end) = fjall::util::prefix_to_range(prefix);
        let prefix = prefix.to_vec();
        self.keyspace
            .range((std::ops::Bound::Included(fjall::UserKey::from(start)), end))
            .map(|guard| guard.into_inner())
            // A start past every key of the prefix stops at once.
            .take_while(move |item| match item {
                Ok((key, _)) => key.starts_with(&prefix),
                Err(_) => true,
            })
            .map(|item| {
                item.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(|e| self.error(e))
            })
    }

    /// Removes every entry.
    pub fn clear(&self) -> Result<(), StoreError> {
        self.keyspace.clear().map_err(|e| self.error(e))
    }
}

impl Batch {
    pub fn put(&mut self, table: &Table, key: &[u8], value: &[u8]) {
        self.batch.insert(&table.keyspace, key, value);
    }

    pub fn delete(&mut self, table: &Table, key: &[u8]) {
        self.batch.remove(&table.keyspace, key);
    }

    pub fn len(&self) -> usize {
        self.batch.len()
    }

    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// Writes every change at once.
    pub fn commit(self) -> Result<(), StoreError> {
        let path = self.path;
        self.batch.commit().map_err(|source| StoreError {
            path,
            source: source.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_lands_whole_and_scans_stay_in_their_prefix() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), 1 << 20).expect("open");
        let (a, b) = (store.table("a").expect("a"), store.table("b").expect("b"));
        let mut batch = store.batch();
        batch.put(&a, b"x\x001", b"one");
        batch.put(&a, b"x\x002", b"two");
        batch.put(&a, b"y\x001", b"other");
        batch.put(&b, b"k", b"v");
        assert_eq!(
            a.get(b"x\x001").expect("get"),
            None,
            "nothing before commit"
        );
        batch.commit().expect("commit");
        let keys: Vec<Vec<u8>> = a
            .scan(b"x\x00", b"x\x002")
            .map(|item| item.expect("scan").0)
            .collect();
        assert_eq!(keys, vec![b"x\x002".to_vec()]);
        let past = a.scan(b"x\x00", b"y").count();
        assert_eq!(past, 0, "a start past the prefix's keys reads nothing");
        drop((a, b));
        drop(store);
        let store = Store::open(dir.path(), 1 << 20).expect("reopen");
        let b = store.table("b").expect("b");
        assert_eq!(b.get(b"k").expect("get"), Some(b"v".to_vec()));
    }
}
