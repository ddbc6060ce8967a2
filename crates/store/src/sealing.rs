//! Keeping personal data readable in the state store only while its
//! person exists. The store (an LSM tree) keeps deleted bytes in its
//! journal and older tables until they happen to be compacted away, so an
//! erasure cannot take plain data back out of it. Instead:
//!
//! - a row found by personal data (an identifier) is keyed by a keyed hash
//!   of it (SipHash with a secret of this data directory), never by its
//!   text;
//! - a person's data is stored encrypted (XChaCha20) with a key of its
//!   own, kept in a file of fixed 32-byte slots that this module
//!   overwrites in place. Zeroing the slot (an erasure) leaves only
//!   ciphertext nobody can read.
//!
//! The identity graph numbers its slots by profile creation number; the
//! profile engine has slots of its own (`profile-keys`).

use std::fs::{File, OpenOptions};
use std::hash::Hasher;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::XChaCha20;
use rand::RngCore;
use siphasher::sip128::{Hasher128, SipHasher13};

use crate::StoreError;

const KEY_BYTES: u64 = 32;
const NONCE_BYTES: usize = 24;

/// The secret for hashing identifiers and the slots of per-person keys.
#[derive(Debug)]
pub struct Sealer {
    /// SipHash's two keys, from the directory's secret.
    hash_keys: (u64, u64),
    slots: File,
    slots_path: PathBuf,
    /// Held while a slot's key is made: two threads sealing with a new
    /// slot at once must not each make (and write) a key of their own.
    making: Mutex<()>,
}

impl Sealer {
    /// Opens (creating on first use) the secret `<name>-secret` and the
    /// key slots `<name>-keys` in `dir`.
    pub fn open(dir: &Path, name: &str) -> Result<Self, StoreError> {
        let secret_path = dir.join(format!("{name}-secret"));
        let slots_path = dir.join(format!("{name}-keys"));
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| StoreError::io(&path, source)
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let secret = read_or_create_secret(&secret_path).map_err(io(&secret_path))?;
        let slots = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&slots_path)
            .map_err(io(&slots_path))?;
        let (k0, k1) = secret.split_at(8);
        let half = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().unwrap_or_default());
        Ok(Self {
            hash_keys: (half(k0), half(k1)),
            slots,
            slots_path,
            making: Mutex::new(()),
        })
    }

    fn error(&self, source: std::io::Error) -> StoreError {
        StoreError::io(&self.slots_path, source)
    }

    /// The keyed hash a row is found by.
    pub fn hash(&self, kind: &str, value: &str) -> [u8; 16] {
        let mut hasher = SipHasher13::new_with_keys(self.hash_keys.0, self.hash_keys.1);
        hasher.write(kind.as_bytes());
        hasher.write_u8(0);
        hasher.write(value.as_bytes());
        hasher.finish128().as_bytes()
    }

    /// The key of profile number `sequence`; `None` once shredded (or never made).
    fn key(&self, sequence: u64) -> Result<Option<[u8; 32]>, StoreError> {
        let mut key = [0u8; KEY_BYTES as usize];
        match self.slots.read_exact_at(&mut key, sequence * KEY_BYTES) {
            Ok(()) => Ok((key != [0; 32]).then_some(key)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Encrypts `plain` with profile `sequence`'s key, making the key on
    /// first use. [`Sealer::sync`] before the sealed bytes are committed.
    pub fn seal(&self, sequence: u64, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut sealed = Vec::with_capacity(NONCE_BYTES + plain.len());
        self.seal_into(sequence, plain, &mut sealed)?;
        Ok(sealed)
    }

    /// [`Sealer::seal`], appending to `out` (after a header of the
    /// caller's, say) instead of making a new buffer.
    pub fn seal_into(
        &self,
        sequence: u64,
        plain: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        let key = match self.key(sequence)? {
            Some(key) => key,
            None => self.make_key(sequence)?,
        };
        seal_with(&key, plain, out);
        Ok(())
    }

    /// Reads keys a block at a time, for sealing many rows in order of
    /// slot: a checkpoint of every active profile read each key with a
    /// system call of its own.
    pub fn key_reader(&self) -> KeyReader<'_> {
        KeyReader {
            sealer: self,
            block: None,
            bytes: Vec::new(),
        }
    }
}

/// Keys read ahead (see [`Sealer::key_reader`]). Hold one only while
/// nothing shreds a key: a key read ahead is not read again.
#[derive(Debug)]
pub struct KeyReader<'a> {
    sealer: &'a Sealer,
    block: Option<u64>,
    bytes: Vec<u8>,
}

/// Keys per block read.
const KEYS_PER_BLOCK: u64 = 128;

impl KeyReader<'_> {
    /// [`Sealer::seal_into`], with the key read ahead.
    pub fn seal_into(
        &mut self,
        sequence: u64,
        plain: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        let key = match self.key(sequence)? {
            Some(key) => key,
            // Made under the sealer's lock, which reads the slot afresh.
            None => self.sealer.make_key(sequence)?,
        };
        seal_with(&key, plain, out);
        Ok(())
    }

    fn key(&mut self, sequence: u64) -> Result<Option<[u8; 32]>, StoreError> {
        let block = sequence / KEYS_PER_BLOCK;
        if self.block != Some(block) {
            self.bytes.resize((KEYS_PER_BLOCK * KEY_BYTES) as usize, 0);
            let start = block * KEYS_PER_BLOCK * KEY_BYTES;
            let mut filled = 0;
            // Short at the end of the file: slots past it have no key.
            while filled < self.bytes.len() {
                match self
                    .sealer
                    .slots
                    .read_at(&mut self.bytes[filled..], start + filled as u64)
                {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(self.sealer.error(e)),
                }
            }
            self.bytes.truncate(filled);
            self.block = Some(block);
        }
        let at = ((sequence % KEYS_PER_BLOCK) * KEY_BYTES) as usize;
        let key: Option<[u8; 32]> = self
            .bytes
            .get(at..at + KEY_BYTES as usize)
            .and_then(|k| k.try_into().ok());
        Ok(key.filter(|k| *k != [0; 32]))
    }
}

/// Appends a fresh nonce and `plain` encrypted with `key` to `out`.
fn seal_with(key: &[u8; 32], plain: &[u8], out: &mut Vec<u8>) {
    let mut nonce = [0u8; NONCE_BYTES];
    rand::rng().fill_bytes(&mut nonce);
    out.extend_from_slice(&nonce);
    let body = out.len();
    out.extend_from_slice(plain);
    XChaCha20::new(key.into(), &nonce.into()).apply_keystream(&mut out[body..]);
}

impl Sealer {
    /// Slots the key file has room for: every slot ever keyed is below.
    pub fn slots_in_file(&self) -> Result<u64, StoreError> {
        let bytes = self.slots.metadata().map_err(|e| self.error(e))?.len();
        Ok(bytes.div_ceil(KEY_BYTES))
    }

    fn make_key(&self, sequence: u64) -> Result<[u8; 32], StoreError> {
        let _making = self.making.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = self.key(sequence)? {
            return Ok(key); // made by another thread meanwhile
        }
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        self.slots
            .write_all_at(&key, sequence * KEY_BYTES)
            .map_err(|e| self.error(e))?;
        Ok(key)
    }

    /// Decrypts what [`Sealer::seal`] made; `None` once the key is shredded.
    pub fn unseal(&self, sequence: u64, sealed: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(key) = self.key(sequence)? else {
            return Ok(None);
        };
        let Some((nonce, body)) = sealed.split_at_checked(NONCE_BYTES) else {
            return Ok(None);
        };
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().unwrap_or_default();
        let mut plain = body.to_vec();
        XChaCha20::new(&key.into(), &nonce.into()).apply_keystream(&mut plain);
        Ok(Some(plain))
    }

    /// Zeroes profile `sequence`'s key: what it sealed is unreadable.
    pub fn shred(&self, sequence: u64) -> Result<(), StoreError> {
        if self.key(sequence)?.is_none() {
            return Ok(());
        }
        self.slots
            .write_all_at(&[0; KEY_BYTES as usize], sequence * KEY_BYTES)
            .map_err(|e| self.error(e))
    }

    /// Makes the keys written so far durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.slots.sync_data().map_err(|e| self.error(e))
    }
}

fn read_or_create_secret(path: &Path) -> std::io::Result<[u8; 16]> {
    let mut secret = [0u8; 16];
    match File::open(path) {
        Ok(mut file) => {
            file.read_exact(&mut secret)?;
            return Ok(secret);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    rand::rng().fill_bytes(&mut secret);
    // Written whole under another name, then renamed: a crash never
    // leaves half a secret (which would lose every row's address).
    let partial = path.with_extension("partial");
    let mut file = File::create(&partial)?;
    file.write_all(&secret)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_read_back_until_the_key_is_shredded_and_the_secret_persists() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Sealer::open(dir.path(), "identity").unwrap();
        let plain = b"ada@example.com";
        let sealed = sealer.seal(3, plain).unwrap();
        assert!(!sealed.windows(plain.len()).any(|w| w == plain));
        assert_eq!(sealer.unseal(3, &sealed).unwrap().unwrap(), plain);
        // Another seal of the same text differs (a fresh nonce).
        assert_ne!(sealer.seal(3, plain).unwrap(), sealed);
        assert_eq!(
            sealer.unseal(4, &sealed).unwrap(),
            None,
            "no key made for 4"
        );
        let hash = sealer.hash("email", "ada@example.com");
        drop(sealer);

        let reopened = Sealer::open(dir.path(), "identity").unwrap();
        assert_eq!(reopened.hash("email", "ada@example.com"), hash);
        assert_ne!(reopened.hash("user_id", "ada@example.com"), hash);
        assert_eq!(reopened.unseal(3, &sealed).unwrap().unwrap(), plain);
        reopened.shred(3).unwrap();
        assert_eq!(reopened.unseal(3, &sealed).unwrap(), None);
    }

    #[test]
    fn keys_read_ahead_seal_as_keys_read_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Sealer::open(dir.path(), "profile").unwrap();
        // Keys made one by one for some slots, across block boundaries.
        let made = [0, 5, 127, 128, 129, 300];
        for slot in made {
            sealer.seal(slot, b"x").unwrap();
        }
        let mut keys = sealer.key_reader();
        // Slots in order: made ones, one never keyed inside the file, and
        // ones past its end (made on the way, then read again).
        for slot in [0, 3, 5, 127, 128, 129, 200, 300, 301, 700, 700] {
            let plain = format!("slot {slot}");
            let mut sealed = Vec::new();
            keys.seal_into(slot, plain.as_bytes(), &mut sealed).unwrap();
            let opened = sealer.unseal(slot, &sealed).unwrap();
            assert_eq!(opened.as_deref(), Some(plain.as_bytes()), "slot {slot}");
        }
    }
}
