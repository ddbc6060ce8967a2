//! Cron schedules for schedule triggers: the five classic fields —
//! minute, hour, day of month, month, day of week — each `*`, a number, a
//! range `a-b`, a step `*/n` or `a-b/n`, or a list of those; days of the
//! week also as `MON`..`SUN` (0 and 7 are Sunday). As in Vixie cron, when
//! both day fields are restricted a day matching either is a match.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    source: String,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_restricted: bool,
    weekdays_restricted: bool,
}

const MINUTE: i64 = 60_000;
/// A window longer than this (a server down for days) fires only for its
/// last day: nobody wants a week of Monday newsletters at once.
const LOOK_BACK: i64 = 24 * 60 * MINUTE;

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err(format!(
                "{text:?} is not five fields (minute hour day-of-month month day-of-week)"
            ));
        };
        let weekday = weekday.to_uppercase();
        let weekday = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
            .iter()
            .enumerate()
            .fold(weekday, |text, (i, name)| {
                text.replace(name, &i.to_string())
            });
        let mut weekdays = field(&weekday, 0, 7, "day of week")?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1; // 7 is Sunday too
        }
        Ok(Cron {
            source: text.to_owned(),
            minutes: field(minute, 0, 59, "minute")?,
            hours: field(hour, 0, 23, "hour")?,
            days: field(day, 1, 31, "day of month")?,
            months: field(month, 1, 12, "month")?,
            weekdays,
            days_restricted: day != "*",
            weekdays_restricted: weekday != "*",
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the wall clock `at` (to the minute) is an occurrence.
    pub fn matches(&self, at: DateTime) -> bool {
        let bit = |set: u64, n: i8| set & (1 << n) != 0;
        let day = bit(self.days, at.day());
        let weekday = bit(self.weekdays, at.weekday().to_sunday_zero_offset());
        let day_ok = match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => day || weekday,
            (true, false) => day,
            (false, true) => weekday,
            (false, false) => true,
        };
        bit(self.minutes, at.minute())
            && bit(self.hours, at.hour())
            && bit(self.months, at.month())
            && day_ok
    }

    /// The latest occurrence after `after` and at or before `until` on the
    /// clocks of `zone`, in milliseconds, if any.
    pub fn latest_between(&self, after: i64, until: i64, zone: &TimeZone) -> Option<i64> {
        let first = after.max(until - LOOK_BACK);
        // From the last whole minute at or before `until`, back to `first`.
        let mut minute = until.div_euclid(MINUTE) * MINUTE;
        while minute > first {
            let local = Timestamp::from_millisecond(minute)
                .ok()?
                .to_zoned(zone.clone())
                .datetime();
            if self.matches(local) {
                return Some(minute);
            }
            minute -= MINUTE;
        }
        None
    }
}

/// A field's values as bits.
fn field(text: &str, low: i8, high: i8, name: &str) -> Result<u64, String> {
    let bad = || {
        format!("{name} {text:?}: use *, N, A-B, */N, A-B/N or lists of them, from {low} to {high}")
    };
    let mut set = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (
                range,
                step.parse::<i8>().ok().filter(|s| *s > 0).ok_or_else(bad)?,
            ),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (low, high),
            _ => match range.split_once('-') {
                Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
                None => {
                    let n: i8 = range.parse().map_err(|_| bad())?;
                    (n, if part.contains('/') { high } else { n })
                }
            },
        };
        if from < low || to > high || from > to {
            return Err(bad());
        }
        let mut n = from;
        while n <= to {
            set |= 1 << n;
            n += step;
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn fields_ranges_steps_lists_and_names() {
        let cron = Cron::parse("*/15 9-17 * * MON-FRI").unwrap();
        let monday_9 = jiff::civil::date(2026, 1, 5).at(9, 30, 0, 0);
        assert!(cron.matches(monday_9));
        assert!(!cron.matches(monday_9.saturating_add(jiff::SignedDuration::from_mins(1))));
        assert!(
            !cron.matches(jiff::civil::date(2026, 1, 4).at(9, 30, 0, 0)),
            "a Sunday"
        );
        assert!(Cron::parse("0 9 * * 7")
            .unwrap()
            .matches(jiff::civil::date(2026, 1, 4).at(9, 0, 0, 0)));
        for bad in [
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "*/0 * * * *",
            "5-1 * * * *",
            "a * * * *",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_latest_occurrence_in_a_window_on_a_zones_clocks() {
        let cron = Cron::parse("0 9 * * *").unwrap();
        let rome = TimeZone::get("Europe/Rome").unwrap();
        // 09:00 in Rome is 08:00Z in January.
        assert_eq!(
            cron.latest_between(
                at("2026-01-05T07:00:00Z"),
                at("2026-01-05T08:30:00Z"),
                &rome
            ),
            Some(at("2026-01-05T08:00:00Z"))
        );
        assert_eq!(
            cron.latest_between(
                at("2026-01-05T08:00:00Z"),
                at("2026-01-05T09:00:00Z"),
                &rome
            ),
            None,
            "the window's start is excluded"
        );
        assert_eq!(
            cron.latest_between(
                at("2026-01-05T07:00:00Z"),
                at("2026-01-05T08:30:00Z"),
                &TimeZone::UTC
            ),
            None
        );
        // Down for three days: only the last day counts.
        assert_eq!(
            cron.latest_between(
                at("2026-01-01T00:00:00Z"),
                at("2026-01-05T08:30:00Z"),
                &rome
            ),
            Some(at("2026-01-05T08:00:00Z"))
        );
    }
}
