use std::fmt;

/// A timestamp string that is not RFC 3339 / ISO 8601.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    pub value: String,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is not an ISO 8601 timestamp (expected e.g. 2026-01-31T12:00:00.000Z)",
            self.value
        )
    }
}

impl std::error::Error for TimestampError {}

/// Parses an ISO 8601 timestamp with an offset (`Z` or `+02:00`) or, like
/// Segment's libraries accept, a plain date (midnight UTC).
pub fn parse_timestamp_millis(value: &str) -> Result<i64, TimestampError> {
    let err = || TimestampError {
        value: value.to_owned(),
    };
    if let Ok(ts) = value.parse::<jiff::Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    // A date-time without an offset is read as UTC rather than refused:
    // server-side senders often omit the `Z`.
    if let Ok(dt) = value.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|_| err());
    }
    Err(err())
}

/// Whether epoch milliseconds fall within the years 0000–9999 that
/// ISO 8601 timestamps can express.
pub fn millis_in_range(millis: i64) -> bool {
    jiff::Timestamp::from_millisecond(millis).is_ok()
}

/// Formats epoch milliseconds as `2026-01-31T12:00:00.000Z`.
pub fn format_millis(millis: i64) -> String {
    match jiff::Timestamp::from_millisecond(millis) {
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => format!("{millis}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_plain_dates_to_the_same_instant() {
        let z = parse_timestamp_millis("2026-01-31T12:00:00.250Z").unwrap();
        let plus = parse_timestamp_millis("2026-01-31T14:00:00.250+02:00").unwrap();
        let naive = parse_timestamp_millis("2026-01-31T12:00:00.250").unwrap();
        assert_eq!(z, plus);
        assert_eq!(z, naive);
        assert_eq!(format_millis(z), "2026-01-31T12:00:00.250Z");
        let date = parse_timestamp_millis("2026-01-31").unwrap();
        assert_eq!(format_millis(date), "2026-01-31T00:00:00.000Z");
    }

    #[test]
    fn rejects_garbage() {
        let e = parse_timestamp_millis("yesterday").unwrap_err();
        assert!(e.to_string().contains("yesterday"));
    }
}
