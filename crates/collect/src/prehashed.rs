//! Hash maps keyed by values that are already good hashes (xxh3 digests):
//! hashing them again with SipHash only costs time.

use std::hash::{BuildHasherDefault, Hasher};

/// Passes a 64-bit key through; for `u128` keys, folds the halves.
#[derive(Debug, Default, Clone, Copy)]
pub struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached for key types other than u64/u128; mix them properly.
        self.0 ^= xxhash_rust::xxh3::xxh3_64(bytes);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }

    fn write_u128(&mut self, n: u128) {
        self.0 ^= (n as u64) ^ ((n >> 64) as u64).rotate_left(29);
    }
}

pub type Prehashed = BuildHasherDefault<PrehashedHasher>;
pub type PrehashedMap<K, V> = std::collections::HashMap<K, V, Prehashed>;
