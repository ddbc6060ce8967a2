//! The contact policy every journey honours: frequency caps across
//! journeys, quiet hours in the customer's time zone, and the global
//! holdout. Pure time arithmetic; the clock is the input's.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::definition::Channel;

#[derive(Debug, Clone)]
pub struct ContactPolicy {
    pub caps: Vec<FrequencyCap>,
    pub quiet_hours: Option<QuietHours>,
    /// Share of all customers no journey sends to, in basis points.
    pub global_holdout_basis_points: u32,
    /// For customers with no `timezone` trait, in journeys that name none.
    pub default_time_zone: TimeZone,
}

impl Default for ContactPolicy {
    fn default() -> Self {
        ContactPolicy {
            caps: Vec::new(),
            quiet_hours: None,
            global_holdout_basis_points: 0,
            default_time_zone: TimeZone::UTC,
        }
    }
}

/// At most `max` messages per `per_millis`, on one channel or (with none)
/// on email, SMS and push together. Webhooks count only when named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrequencyCap {
    pub channel: Option<Channel>,
    pub max: u32,
    pub per_millis: i64,
}

impl FrequencyCap {
    pub fn counts(&self, channel: Channel) -> bool {
        match self.channel {
            Some(c) => c == channel,
            None => channel != Channel::Webhook,
        }
    }

    /// Whether one more message on `channel` at `now` would break the cap.
    pub fn reached(&self, sent: &[(i64, Channel)], channel: Channel, now: i64) -> bool {
        if !self.counts(channel) {
            return false;
        }
        let since = now - self.per_millis;
        let recent = sent
            .iter()
            .filter(|(at, c)| *at > since && self.counts(*c))
            .count();
        recent >= self.max as usize
    }
}

/// No messages between `start` and `end` local time (the window may cross
/// midnight) on the listed channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuietHours {
    pub start: Time,
    pub end: Time,
    pub channels: Vec<Channel>,
    pub then: QuietAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuietAction {
    /// Send when the quiet hours end.
    Delay,
    /// Do not send; go on with the journey.
    Skip,
}

impl QuietHours {
    /// When the quiet hours holding `now` end, or `None` if `now` is not quiet.
    pub fn ends_after(&self, channel: Channel, now: i64, zone: &TimeZone) -> Option<i64> {
        if !self.channels.contains(&channel) || self.start == self.end {
            return None;
        }
        let local = local_time(now, zone);
        let quiet = if self.start < self.end {
            self.start <= local && local < self.end
        } else {
            local >= self.start || local < self.end
        };
        quiet.then(|| next_time_of_day(now, self.end, zone))
    }
}

fn local_time(now: i64, zone: &TimeZone) -> Time {
    timestamp(now).to_zoned(zone.clone()).time()
}

fn timestamp(millis: i64) -> Timestamp {
    Timestamp::from_millisecond(millis).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The first moment at or after `now` when the clock in `zone` shows
/// `time` (on a day the time does not exist, as in a DST gap, the moment
/// the clock jumps past it).
pub fn next_time_of_day(now: i64, time: Time, zone: &TimeZone) -> i64 {
    let here = timestamp(now).to_zoned(zone.clone());
    let mut date = here.date();
    for _ in 0..3 {
        if let Ok(at) = date.to_datetime(time).to_zoned(zone.clone()) {
            let millis = at.timestamp().as_millisecond();
            if millis >= now {
                return millis;
            }
        }
        date = date.tomorrow().unwrap_or(date);
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::time;

    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn next_time_of_day_is_today_or_tomorrow_in_the_zone() {
        let rome = TimeZone::get("Europe/Rome").unwrap();
        // 07:30 UTC is 08:30 in Rome (CET): 09:00 Rome is 08:00 UTC today.
        let now = at("2026-01-10T07:30:00Z");
        assert_eq!(
            next_time_of_day(now, time(9, 0, 0, 0), &rome),
            at("2026-01-10T08:00:00Z")
        );
        // 08:30 Rome has passed today: tomorrow.
        assert_eq!(next_time_of_day(now, time(8, 30, 0, 0), &rome), now);
        assert_eq!(
            next_time_of_day(now + 1, time(8, 30, 0, 0), &rome),
            at("2026-01-11T07:30:00Z")
        );
    }

    #[test]
    fn quiet_hours_across_midnight() {
        let quiet = QuietHours {
            start: time(21, 0, 0, 0),
            end: time(8, 0, 0, 0),
            channels: vec![Channel::Email],
            then: QuietAction::Delay,
        };
        let utc = TimeZone::UTC;
        assert_eq!(
            quiet.ends_after(Channel::Email, at("2026-01-10T12:00:00Z"), &utc),
            None
        );
        assert_eq!(
            quiet.ends_after(Channel::Email, at("2026-01-10T22:00:00Z"), &utc),
            Some(at("2026-01-11T08:00:00Z"))
        );
        assert_eq!(
            quiet.ends_after(Channel::Email, at("2026-01-11T03:00:00Z"), &utc),
            Some(at("2026-01-11T08:00:00Z"))
        );
        assert_eq!(
            quiet.ends_after(Channel::Webhook, at("2026-01-11T03:00:00Z"), &utc),
            None
        );
    }

    #[test]
    fn caps_count_recent_messages_of_their_channels() {
        let day = 86_400_000;
        let cap = FrequencyCap {
            channel: None,
            max: 2,
            per_millis: day,
        };
        let sent = [
            (0, Channel::Email),
            (10, Channel::Sms),
            (20, Channel::Webhook),
        ];
        assert!(cap.reached(&sent, Channel::Push, 100));
        assert!(
            !cap.reached(&sent, Channel::Webhook, 100),
            "webhooks are not capped unless named"
        );
        assert!(
            !cap.reached(&sent, Channel::Email, day + 5),
            "the first send left the window"
        );
    }
}
