//! An ordered table whose changes wait in memory until the next checkpoint
//! writes them to the store in the same batch as everything else, so the
//! store only ever holds state as of one point of the log. Without a store
//! (a rebuild in memory) the buffer is the whole table.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

use percorso_store::Table;
use smallvec::SmallVec;

use crate::checkpoint_writer::Changes;

/// A buffered key, held inline when short (as every key of the engine's
/// own tables is, but for long segment names): a B-tree search compares
/// keys in place instead of reading each from its own allocation, which
/// made inserting a row the engine thread's largest single cost.
pub(crate) type Key = SmallVec<[u8; 40]>;

#[derive(Debug, Default)]
pub(crate) struct BufferedTable {
    table: Option<Table>,
    /// Changes since the last checkpoint was taken.
    pending: Changes,
    /// Changes of the checkpoint being written (or whose write failed):
    /// read under `pending` until the store has them.
    committing: Arc<Changes>,
}

impl BufferedTable {
    pub fn new(table: Option<Table>) -> Self {
        Self {
            table,
            ..Self::default()
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        if let Some(change) = self.pending.get(key).or_else(|| self.committing.get(key)) {
            return change.clone();
        }
        let table = self.table.as_ref()?;
        table.get(key).unwrap_or_else(|e| {
            tracing::error!(error = %e, "state read failed");
            None
        })
    }

    pub fn put(&mut self, key: Key, value: Vec<u8>) {
        self.pending.insert(key, Some(value));
    }

    pub fn delete(&mut self, key: &[u8]) {
        if self.table.is_some() {
            self.pending.insert(Key::from_slice(key), None);
        } else {
            self.pending.remove(key);
        }
    }

    /// Up to `limit` entries whose keys start with `prefix`, from `start`
    /// on (inclusive), in key order: the store's merged with the changes
    /// not yet written.
    pub fn scan(&self, prefix: &[u8], start: &[u8], limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut buffered = overlay(
            range_of(&self.pending, prefix, start),
            range_of(&self.committing, prefix, start),
        )
        .peekable();
        let mut stored = self
            .table
            .iter()
            .flat_map(|table| table.scan(prefix, start))
            .filter_map(|item| {
                item.map_err(|e| tracing::error!(error = %e, "state scan failed"))
                    .ok()
            })
            .peekable();
        let mut out = Vec::new();
        while out.len() < limit {
            let take_buffered = match (buffered.peek(), stored.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((bk, _)), Some((sk, _))) => bk.as_slice() <= sk.as_slice(),
            };
            if take_buffered {
                let Some((key, change)) = buffered.next() else {
                    break;
                };
                // A buffered change overrides the stored entry of its key.
                if stored.peek().is_some_and(|(sk, _)| sk[..] == key[..]) {
                    stored.next();
                }
                if let Some(value) = change {
                    out.push((key.to_vec(), value.clone()));
                }
            } else if let Some(entry) = stored.next() {
                out.push(entry);
            }
        }
        out
    }

    /// Takes the waiting changes for a checkpoint (with those of a
    /// checkpoint that failed to write, under them); they stay readable
    /// until [`BufferedTable::committed`]. `None` in memory: the buffer is
    /// the table.
    pub fn take(&mut self) -> Option<(Table, Arc<Changes>)> {
        let table = self.table.clone()?;
        let mut changes = std::mem::take(&mut self.pending);
        if !self.committing.is_empty() {
            // The writer let go of the failed batch: no copy needed.
            let mut unwritten = Arc::unwrap_or_clone(std::mem::take(&mut self.committing));
            unwritten.append(&mut changes);
            changes = unwritten;
        }
        self.committing = Arc::new(changes);
        Some((table, self.committing.clone()))
    }

    /// The store has the changes last taken; returns them to be freed.
    pub fn committed(&mut self) -> Arc<Changes> {
        std::mem::take(&mut self.committing)
    }

    pub fn pending_len(&self) -> usize {
        if self.table.is_some() {
            self.pending.len()
        } else {
            0
        }
    }
}

type Change<'a> = (&'a Key, &'a Option<Vec<u8>>);

/// The changes whose keys start with `prefix`, from `start` on (as
/// `Table::scan` reads the store).
fn range_of<'a>(
    changes: &'a Changes,
    prefix: &'a [u8],
    start: &'a [u8],
) -> impl Iterator<Item = Change<'a>> {
    changes
        .range::<[u8], _>((Bound::Included(start.max(prefix)), Bound::Unbounded))
        .take_while(move |(k, _)| k.starts_with(prefix))
}

/// Two runs of changes in key order as one, `newer` winning a shared key.
fn overlay<'a>(
    newer: impl Iterator<Item = Change<'a>>,
    older: impl Iterator<Item = Change<'a>>,
) -> impl Iterator<Item = Change<'a>> {
    let mut newer = newer.peekable();
    let mut older = older.peekable();
    std::iter::from_fn(move || {
        let order = match (newer.peek(), older.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((a, _)), Some((b, _))) => a.cmp(b),
        };
        match order {
            Ordering::Less => newer.next(),
            Ordering::Greater => older.next(),
            Ordering::Equal => {
                older.next();
                newer.next()
            }
        }
    })
}

/// `a ‖ 0 ‖ b`: keys grouped by `a` (which holds no zero byte).
pub(crate) fn joined(a: &str, b: &[u8]) -> Key {
    let mut key = Key::with_capacity(a.len() + 1 + b.len());
    key.extend_from_slice(a.as_bytes());
    key.push(0);
    key.extend_from_slice(b);
    key
}

/// A time as a key that sorts in time order (sign bit flipped).
pub(crate) fn time_key(millis: i64) -> [u8; 8] {
    ((millis as u64) ^ (1 << 63)).to_be_bytes()
}

pub(crate) fn time_of_key(bytes: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes the changes and commits them as the checkpoint writer does.
    fn write(store: &percorso_store::Store, table: &mut BufferedTable) {
        let (target, changes) = table.take().expect("stored");
        let mut batch = store.batch();
        crate::checkpoint_writer::add_changes(&mut batch, &target, &changes);
        batch.commit().expect("commit");
        table.committed();
    }

    #[test]
    fn scans_merge_the_buffer_over_the_store() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = percorso_store::Store::open(dir.path(), 1 << 20).expect("open");
        let mut table = BufferedTable::new(Some(store.table("t").expect("table")));
        for key in [b"s\0a", b"s\0c", b"s\0e"] {
            table.put(Key::from_slice(key), b"old".to_vec());
        }
        write(&store, &mut table);
        table.delete(b"s\0c");
        table.put(Key::from_slice(b"s\0b"), b"new".to_vec());
        table.put(Key::from_slice(b"s\0e"), b"new".to_vec());
        table.put(Key::from_slice(b"t\0a"), b"other".to_vec());
        let seen: Vec<(Vec<u8>, Vec<u8>)> = table.scan(b"s\0", b"", 10);
        let expected = [("s\0a", "old"), ("s\0b", "new"), ("s\0e", "new")]
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()));
        assert_eq!(seen, expected.to_vec());
        assert_eq!(table.scan(b"s\0", b"s\0b", 1).len(), 1);
        assert_eq!(table.get(b"s\0c"), None);
        // Taken for a checkpoint and not yet written, the changes are
        // still what reads see; a later change of a key wins over them.
        table.take();
        table.put(Key::from_slice(b"s\0b"), b"newer".to_vec());
        assert_eq!(table.get(b"s\0e"), Some(b"new".to_vec()));
        assert_eq!(table.get(b"s\0c"), None);
        let seen = table.scan(b"s\0", b"", 10);
        let expected = [("s\0a", "old"), ("s\0b", "newer"), ("s\0e", "new")]
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()));
        assert_eq!(seen, expected.to_vec());
        // That checkpoint failed: the next one writes its changes too.
        write(&store, &mut table);
        assert_eq!(table.scan(b"s\0", b"", 10), expected.to_vec());
        assert_eq!(table.table.as_ref().unwrap().get(b"s\0c").unwrap(), None);
        assert_eq!(
            table.table.as_ref().unwrap().get(b"s\0e").unwrap(),
            Some(b"new".to_vec())
        );
        assert!(time_key(-5) < time_key(3));
        assert_eq!(time_of_key(&time_key(-5)), Some(-5));
    }
}
