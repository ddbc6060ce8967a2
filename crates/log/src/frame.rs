//! Record framing: `len: u32 | crc: u32 | offset: u64 | payload`, little
//! endian. The crc32c covers `len`, `offset` and `payload`.

/// Bytes before the payload.
pub(crate) const HEADER_BYTES: usize = 16;

/// Larger records are refused on write and treated as damage on read (a
/// flipped bit in a length must not make us allocate gigabytes).
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;

/// One record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub offset: u64,
    pub payload: Vec<u8>,
}

fn checksum(len: u32, offset: u64, payload: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&len.to_le_bytes());
    let crc = crc32c::crc32c_append(crc, &offset.to_le_bytes());
    crc32c::crc32c_append(crc, payload)
}

pub(crate) fn encode(offset: u64, payload: &[u8], out: &mut Vec<u8>) {
    let len = payload.len() as u32;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(len, offset, payload).to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(payload);
}

/// What the start of a buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded<'a> {
    /// A whole, valid record and the number of bytes it used.
    Record {
        offset: u64,
        payload: &'a [u8],
        size: usize,
    },
    /// The buffer ends inside a record: more bytes are needed (at a file's
    /// end this is a torn write).
    Incomplete { needed: usize },
    /// The bytes are not a valid record.
    Invalid(&'static str),
}

pub(crate) fn decode(buf: &[u8]) -> Decoded<'_> {
    if buf.len() < HEADER_BYTES {
        return Decoded::Incomplete {
            needed: HEADER_BYTES,
        };
    }
    let len = u32::from_le_bytes(buf[0..4].try_into().unwrap_or_default());
    let crc = u32::from_le_bytes(buf[4..8].try_into().unwrap_or_default());
    let offset = u64::from_le_bytes(buf[8..16].try_into().unwrap_or_default());
    if len as usize > MAX_PAYLOAD_BYTES {
        return Decoded::Invalid("length field exceeds the record size limit");
    }
    let size = HEADER_BYTES + len as usize;
    if buf.len() < size {
        return Decoded::Incomplete { needed: size };
    }
    let payload = &buf[HEADER_BYTES..size];
    if checksum(len, offset, payload) != crc {
        return Decoded::Invalid("checksum mismatch");
    }
    Decoded::Record {
        offset,
        payload,
        size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_every_single_byte_flip() {
        let mut buf = Vec::new();
        encode(7, b"hello world", &mut buf);
        match decode(&buf) {
            Decoded::Record {
                offset,
                payload,
                size,
            } => {
                assert_eq!((offset, payload, size), (7, &b"hello world"[..], buf.len()));
            }
            other => panic!("expected a record, got {other:?}"),
        }
        for i in 0..buf.len() {
            let mut damaged = buf.clone();
            damaged[i] ^= 0x40;
            assert!(
                !matches!(decode(&damaged), Decoded::Record { .. }),
                "flip at byte {i} went unnoticed"
            );
        }
    }

    #[test]
    fn short_buffers_are_incomplete() {
        let mut buf = Vec::new();
        encode(1, b"abc", &mut buf);
        for cut in 0..buf.len() {
            assert!(matches!(decode(&buf[..cut]), Decoded::Incomplete { .. }));
        }
    }
}
