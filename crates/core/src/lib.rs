//! Shared vocabulary of Percorso: how time is read ([`Clock`]) and written
//! (RFC 3339 with milliseconds, as the Segment spec uses).

mod clock;
mod time;

pub use clock::{Clock, ManualClock, SystemClock};
pub use time::{format_millis, millis_in_range, parse_timestamp_millis, TimestampError};
