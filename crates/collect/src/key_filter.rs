//! A Bloom filter over deduplication keys, so that a new key (nearly every
//! key) is known to be new without a read of the state store: a read of a
//! key nobody wrote searched the store's memtable and cost ingest 13% of
//! its throughput. About 2 bytes a key; a false positive (under 0.2%) only
//! costs the read.
//!
//! Keys are already uniform 128-bit hashes, so their bits pick the block
//! and the bits within it directly. Each probe touches one 64-byte block.

/// Filter bits per key at capacity.
const BITS_PER_KEY: usize = 16;
/// Bits set per key, each picked by 9 bits of the key's low half.
const PROBES: u32 = 7;
/// The first filter's capacity; each next one doubles it.
const FIRST_CAPACITY: usize = 1 << 16;

/// One fixed-capacity blocked Bloom filter.
#[derive(Debug)]
struct Filter {
    blocks: Vec<[u64; 8]>,
    keys: usize,
    capacity: usize,
}

impl Filter {
    fn with_capacity(capacity: usize) -> Self {
        let blocks = (capacity * BITS_PER_KEY).div_ceil(512).max(1);
        Self {
            blocks: vec![[0; 8]; blocks],
            keys: 0,
            capacity,
        }
    }

    fn block(&self, key: u128) -> usize {
        // The high half, scaled to the block count (no modulo bias).
        let high = (key >> 64) as u64;
        ((u128::from(high) * self.blocks.len() as u128) >> 64) as usize
    }

    fn bits(key: u128) -> impl Iterator<Item = (usize, u64)> {
        let low = key as u64;
        (0..PROBES).map(move |i| {
            let bit = (low >> (9 * i)) & 511;
            ((bit / 64) as usize, 1u64 << (bit % 64))
        })
    }

    fn insert(&mut self, key: u128) {
        let block = self.block(key);
        for (word, mask) in Self::bits(key) {
            self.blocks[block][word] |= mask;
        }
        self.keys += 1;
    }

    fn may_contain(&self, key: u128) -> bool {
        let block = &self.blocks[self.block(key)];
        Self::bits(key).all(|(word, mask)| block[word] & mask != 0)
    }
}

/// Filters that grow with the keys added: a full filter is kept and a new
/// one of twice its capacity takes the next keys.
#[derive(Debug, Default)]
pub(crate) struct KeyFilter {
    filters: Vec<Filter>,
}

impl KeyFilter {
    pub fn insert(&mut self, key: u128) {
        let full = self.filters.last().is_none_or(|f| f.keys >= f.capacity);
        if full {
            let capacity = self
                .filters
                .last()
                .map_or(FIRST_CAPACITY, |f| f.capacity * 2);
            self.filters.push(Filter::with_capacity(capacity));
        }
        if let Some(filter) = self.filters.last_mut() {
            filter.insert(key);
        }
    }

    /// `false` only when `key` was never inserted.
    pub fn may_contain(&self, key: u128) -> bool {
        self.filters.iter().any(|f| f.may_contain(key))
    }

    pub fn clear(&mut self) {
        self.filters.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::dedup_key;

    #[test]
    fn never_misses_an_inserted_key_and_rarely_claims_another() {
        let mut filter = KeyFilter::default();
        let keys = 300_000u64;
        for n in 0..keys {
            filter.insert(dedup_key("src", &n.to_string()));
        }
        assert!((0..keys).all(|n| filter.may_contain(dedup_key("src", &n.to_string()))));
        let false_positives = (keys..2 * keys)
            .filter(|n| filter.may_contain(dedup_key("src", &n.to_string())))
            .count();
        // Three filters (64K, 128K, 256K) each at most at 0.1%.
        assert!(
            false_positives < (keys as usize) / 200,
            "{false_positives} false positives in {keys}"
        );
        filter.clear();
        assert!(!filter.may_contain(dedup_key("src", "0")));
    }
}
