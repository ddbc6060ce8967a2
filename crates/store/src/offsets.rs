//! Log offsets per partition as a stored value: how far a table covers
//! the log, written in the same batch as the rows it describes.

/// Big-endian `u64`s, one per partition.
pub fn encode_offsets(offsets: &[u64]) -> Vec<u8> {
    offsets.iter().flat_map(|o| o.to_be_bytes()).collect()
}

/// What [`encode_offsets`] made (a trailing partial value is ignored).
pub fn decode_offsets(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .filter_map(|c| c.try_into().ok().map(u64::from_be_bytes))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_back_as_written() {
        let offsets = [0, 7, u64::MAX];
        assert_eq!(decode_offsets(&encode_offsets(&offsets)), offsets);
        assert_eq!(decode_offsets(&[]), Vec::<u64>::new());
    }
}
