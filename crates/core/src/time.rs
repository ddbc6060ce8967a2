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
///
/// Written digit by digit from 1970 to the end of jiff's range: ingest
/// formats two of these per event, and going through `fmt` cost 2% of all
/// the work of collecting one. Other times go through jiff.
pub fn format_millis(millis: i64) -> String {
    // The last millisecond `jiff::Timestamp::from_millisecond` accepts.
    const LAST: i64 = 253_402_207_200_000;
    if !(0..=LAST).contains(&millis) {
        return match jiff::Timestamp::from_millisecond(millis) {
            Ok(ts) => format!("{ts:.3}"),
            Err(_) => format!("{millis}"),
        };
    }
    let (days, in_day) = (millis / 86_400_000, millis % 86_400_000);
    let (year, month, day) = civil_from_days(days);
    let mut out = [0u8; 24];
    let mut put = |at: usize, value: i64, width: usize| {
        let mut v = value;
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, in_day / 3_600_000, 2);
    put(14, in_day / 60_000 % 60, 2);
    put(17, in_day / 1_000 % 60, 2);
    put(20, in_day % 1_000, 3);
    for (at, separator) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ] {
        out[at] = separator;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

/// `(year, month, day)` of a day counted from 1970-01-01 (not before it):
/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    fn formats_as_jiff_does_across_the_range() {
        let jiff_text = |millis: i64| {
            let ts = jiff::Timestamp::from_millisecond(millis).unwrap();
            format!("{ts:.3}")
        };
        // Every day from 1970 to 2500 (leap days, 2000, 2100), at a time
        // that moves through the day.
        for day in 0..194_000_i64 {
            let millis = day * 86_400_000 + (day * 7_919_999) % 86_400_000;
            assert_eq!(format_millis(millis), jiff_text(millis), "{millis}");
        }
        // Then strides growing from 1 ms up to the end of the range.
        let mut millis: i64 = 0;
        let mut step: i64 = 1;
        while millis <= 253_402_207_200_000 {
            assert_eq!(format_millis(millis), jiff_text(millis), "{millis}");
            millis += step;
            step = step * 3 / 2 + 7;
        }
        for millis in [
            951_782_400_000,
            951_868_799_999,
            4_107_542_400_000,
            253_402_207_200_000,
        ] {
            assert_eq!(format_millis(millis), jiff_text(millis), "{millis}");
        }
        for millis in [-1, -62_135_596_800_000] {
            assert_eq!(format_millis(millis), jiff_text(millis), "{millis}");
        }
        assert_eq!(format_millis(253_402_207_200_001), "253402207200001");
    }

    #[test]
    fn rejects_garbage() {
        let e = parse_timestamp_millis("yesterday").unwrap_err();
        assert!(e.to_string().contains("yesterday"));
    }
}
