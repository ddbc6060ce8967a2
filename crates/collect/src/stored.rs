//! The bytes of one event in the log: a small binary header with what
//! recovery and indexing need (so a restart never parses JSON), then the
//! normalised Segment message as JSON.
//!
//! `version u8 | received_at i64 | timestamp i64 | dedup_key u128 |
//!  source_id, user_id, anonymous_id, profile_id: (u16 len, utf-8) |
//!  identity stamp: (u32 len, bytes) | json`
//!
//! Version 1 records (before identity resolution) have no profile id and
//! no stamp; they read back with both empty.

const VERSION: u8 = 2;

/// An event as stored, borrowing from the record's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent<'a> {
    pub received_at: i64,
    pub timestamp: i64,
    pub dedup_key: u128,
    pub source_id: &'a str,
    pub user_id: &'a str,
    pub anonymous_id: &'a str,
    /// The profile identity resolution gave the event; empty if none.
    pub profile_id: &'a str,
    /// What resolving it decided (`percorso_identity::IdentityStamp`).
    pub stamp: &'a [u8],
    pub json: &'a [u8],
}

impl StoredEvent<'_> {
    pub fn encode(&self) -> Vec<u8> {
        let strings = self.source_id.len()
            + self.user_id.len()
            + self.anonymous_id.len()
            + self.profile_id.len()
            + self.stamp.len();
        let mut out = Vec::with_capacity(1 + 8 + 8 + 16 + 12 + strings + self.json.len());
        out.push(VERSION);
        out.extend_from_slice(&self.received_at.to_le_bytes());
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&self.dedup_key.to_le_bytes());
        for s in [
            self.source_id,
            self.user_id,
            self.anonymous_id,
            self.profile_id,
        ] {
            // Identifiers are bounded by the per-event size limit, far below u16::MAX.
            let len = s.len().min(u16::MAX as usize);
            out.extend_from_slice(&(len as u16).to_le_bytes());
            out.extend_from_slice(&s.as_bytes()[..len]);
        }
        out.extend_from_slice(&(self.stamp.len() as u32).to_le_bytes());
        out.extend_from_slice(self.stamp);
        out.extend_from_slice(self.json);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<StoredEvent<'_>, String> {
        let mut cursor = Cursor { bytes, at: 0 };
        let version = cursor.take(1)?[0];
        if version != VERSION && version != 1 {
            return Err(format!("unknown stored event version {version}"));
        }
        let received_at = i64::from_le_bytes(cursor.array()?);
        let timestamp = i64::from_le_bytes(cursor.array()?);
        let dedup_key = u128::from_le_bytes(cursor.array()?);
        let source_id = cursor.string()?;
        let user_id = cursor.string()?;
        let anonymous_id = cursor.string()?;
        let (profile_id, stamp) = if version == 1 {
            ("", &[][..])
        } else {
            let profile_id = cursor.string()?;
            let len = u32::from_le_bytes(cursor.array()?) as usize;
            (profile_id, cursor.take(len)?)
        };
        Ok(StoredEvent {
            received_at,
            timestamp,
            dedup_key,
            source_id,
            user_id,
            anonymous_id,
            profile_id,
            stamp,
            json: &bytes[cursor.at..],
        })
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at + n;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| "stored event is cut short".to_owned())?;
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let slice = self.take(N)?;
        slice
            .try_into()
            .map_err(|_| "stored event is cut short".to_owned())
    }

    fn string(&mut self) -> Result<&'a str, String> {
        let len = u16::from_le_bytes(self.array()?) as usize;
        std::str::from_utf8(self.take(len)?).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let event = StoredEvent {
            received_at: 5,
            timestamp: -7,
            dedup_key: u128::MAX - 3,
            source_id: "src_1",
            user_id: "",
            anonymous_id: "anon-ü",
            profile_id: "prof_1",
            stamp: b"{}",
            json: br#"{"type":"track"}"#,
        };
        let bytes = event.encode();
        assert_eq!(StoredEvent::decode(&bytes).unwrap(), event);
        assert!(StoredEvent::decode(&bytes[..20]).is_err());
    }
}
