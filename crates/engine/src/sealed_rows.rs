//! Personal data in the engine's stored rows — a profile's traits, the
//! identifiers in its merge trail — sealed with a key of that person's own
//! (see `percorso_store::Sealer`), so that an erasure, which shreds the
//! key, leaves nothing readable in the store's journal or older tables.
//!
//! A sealed row is `slot (u64 LE) ‖ sealed bytes`. Slots are numbered by
//! the engine as it creates states (the next number is in the checkpoint,
//! and never below the slots the key file already has, so a slot is never
//! handed out twice); a state keeps its own slot and those of the states
//! merged into it, which an erasure shreds with it. Without a store (a
//! rebuild in memory) rows are kept as they are.

use percorso_store::{KeyReader, Sealer, StoreError};

/// `plain`, sealed with `slot`'s key when there is a sealer.
pub(crate) fn seal_row(
    sealer: Option<&Sealer>,
    slot: u64,
    plain: Vec<u8>,
) -> Result<Vec<u8>, StoreError> {
    let Some(sealer) = sealer else {
        return Ok(plain);
    };
    let mut row = Vec::with_capacity(8 + 24 + plain.len());
    row.extend_from_slice(&slot.to_le_bytes());
    sealer.seal_into(slot, &plain, &mut row)?;
    Ok(row)
}

/// Seals `plain` with keys read ahead by `keys` and appends the row to
/// `row`, for a caller that seals many and reuses its buffer.
pub(crate) fn seal_row_into(
    keys: &mut KeyReader<'_>,
    slot: u64,
    plain: &[u8],
    row: &mut Vec<u8>,
) -> Result<(), StoreError> {
    row.extend_from_slice(&slot.to_le_bytes());
    keys.seal_into(slot, plain, row)
}

/// What [`seal_row`] sealed; `None` once the key is shredded (the person
/// was erased) or when the row is too short to be one.
pub(crate) fn open_row(sealer: Option<&Sealer>, row: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(sealer) = sealer else {
        return Ok(Some(row.to_vec()));
    };
    let Some((slot, sealed)) = row.split_first_chunk::<8>() else {
        return Ok(None);
    };
    sealer.unseal(u64::from_le_bytes(*slot), sealed)
}

/// Zeroes the keys of `slots` and makes that durable.
pub(crate) fn shred(sealer: Option<&Sealer>, slots: &[u64]) -> Result<(), StoreError> {
    let Some(sealer) = sealer else {
        return Ok(());
    };
    for &slot in slots {
        sealer.shred(slot)?;
    }
    sealer.sync()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_back_until_its_slot_is_shredded_and_hides_its_text() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sealer = Sealer::open(dir.path(), "profile").expect("sealer");
        let plain = b"ada@example.com".to_vec();
        let row = seal_row(Some(&sealer), 7, plain.clone()).unwrap();
        assert!(!row.windows(plain.len()).any(|w| w == plain.as_slice()));
        assert_eq!(open_row(Some(&sealer), &row).unwrap(), Some(plain.clone()));
        let other = seal_row(Some(&sealer), 8, plain.clone()).unwrap();
        shred(Some(&sealer), &[7]).unwrap();
        assert_eq!(open_row(Some(&sealer), &row).unwrap(), None);
        assert_eq!(
            open_row(Some(&sealer), &other).unwrap(),
            Some(plain.clone())
        );
        assert_eq!(seal_row(None, 7, plain.clone()).unwrap(), plain);
    }
}
