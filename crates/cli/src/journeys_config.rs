//! The `[channels]` and `[journeys]` sections of `percorso.toml`: where
//! messages are delivered, how hard delivery tries, and the contact policy
//! every journey honours.
//!
//! ```toml
//! [channels]
//! smtp_host = "smtp.example.com"
//! smtp_port = 587
//! smtp_security = "starttls"          # none | starttls | tls
//! smtp_username = "apikey"            # password: PERCORSO_SMTP_PASSWORD
//! email_from = "Shop <news@shop.example>"
//! sms_webhook = "https://sms.example/send"      # provider webhooks
//! push_webhook = "https://push.example/send"
//! provider_authorization = "Bearer …"            # or PERCORSO_PROVIDER_AUTHORIZATION
//! retry_attempts = 8
//! retry_base = "1s"
//! retry_cap = "10m"
//!
//! [journeys]
//! frequency_caps = ["email 1/1d", "all 3/7d"]   # CHANNEL MAX/PERIOD
//! quiet_hours = "21:00-08:00"                    # in the customer's time zone
//! quiet_hours_channels = ["email", "sms", "push"]
//! quiet_hours_then = "delay"                      # or "skip"
//! global_holdout_percent = 5
//! time_zone = "Europe/Rome"                      # for customers without one
//! ```

use std::time::Duration;

use percorso_channels::{ChannelsConfig, ProviderWebhook, RetryPolicy, SmtpConfig, SmtpSecurity};
use percorso_journeys::{Channel, ContactPolicy, FrequencyCap, QuietAction, QuietHours};

use crate::config::positive_duration;
use crate::config_file::{Problem, Settings};

/// Delivery settings: the channels and the retry policy.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    pub channels: ChannelsConfig,
    pub retry: RetryPolicy,
}

pub fn delivery(settings: &Settings, problems: &mut Vec<Problem>) -> Delivery {
    let mut delivery = Delivery::default();
    if let Some(host) = settings.text("channels.smtp_host") {
        let security = match settings
            .text("channels.smtp_security")
            .unwrap_or("starttls")
        {
            "none" => SmtpSecurity::None,
            "starttls" => SmtpSecurity::StartTls,
            "tls" => SmtpSecurity::Tls,
            other => {
                problems.push(Problem::new(
                    "channels.smtp_security",
                    format!("'{other}' is not none, starttls or tls"),
                ));
                SmtpSecurity::StartTls
            }
        };
        let default_port = match security {
            SmtpSecurity::None => 25,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
        };
        let port = settings.count("channels.smtp_port").unwrap_or(default_port);
        let port = u16::try_from(port).unwrap_or_else(|_| {
            problems.push(Problem::new(
                "channels.smtp_port",
                "must be from 1 to 65535",
            ));
            default_port as u16
        });
        let from = settings.text("channels.email_from").map(str::to_owned);
        if from.is_none() {
            problems.push(Problem::new(
                "channels.email_from",
                "is required with smtp_host (the sender, e.g. \"Shop <news@shop.example>\")",
            ));
        }
        delivery.channels.smtp = Some(SmtpConfig {
            host: host.to_owned(),
            port,
            security,
            username: settings.text("channels.smtp_username").map(str::to_owned),
            password: std::env::var("PERCORSO_SMTP_PASSWORD").ok(),
            from: from.unwrap_or_default(),
            timeout: Duration::from_secs(30),
        });
    }
    let authorization = std::env::var("PERCORSO_PROVIDER_AUTHORIZATION")
        .ok()
        .or_else(|| {
            settings
                .text("channels.provider_authorization")
                .map(str::to_owned)
        });
    let provider = |key: &str| {
        settings.text(key).map(|url| ProviderWebhook {
            url: url.to_owned(),
            headers: authorization
                .iter()
                .map(|a| ("Authorization".to_owned(), a.clone()))
                .collect(),
        })
    };
    delivery.channels.sms = provider("channels.sms_webhook");
    delivery.channels.push = provider("channels.push_webhook");
    if let Some(n) = settings.count("channels.retry_attempts") {
        if n == 0 {
            problems.push(Problem::new(
                "channels.retry_attempts",
                "must be at least 1",
            ));
        }
        delivery.retry.max_attempts = n.clamp(1, 100) as u32;
    }
    if let Some(d) = positive_duration(settings, "channels.retry_base", "\"1s\"", problems) {
        delivery.retry.base = d;
    }
    if let Some(d) = positive_duration(settings, "channels.retry_cap", "\"10m\"", problems) {
        delivery.retry.cap = d;
    }
    delivery
}

pub fn contact_policy(settings: &Settings, problems: &mut Vec<Problem>) -> ContactPolicy {
    let mut policy = ContactPolicy::default();
    for cap in settings
        .texts("journeys.frequency_caps")
        .unwrap_or_default()
    {
        match frequency_cap(cap) {
            Some(c) => policy.caps.push(c),
            None => problems.push(Problem::new(
                "journeys.frequency_caps",
                format!("'{cap}' is not CHANNEL MAX/PERIOD, e.g. \"email 1/1d\" or \"all 3/7d\""),
            )),
        }
    }
    if let Some(window) = settings.text("journeys.quiet_hours") {
        let times = window
            .split_once('-')
            .and_then(|(a, b)| Some((time(a)?, time(b)?)));
        let channels = match settings.texts("journeys.quiet_hours_channels") {
            None => vec![Channel::Email, Channel::Sms, Channel::Push],
            Some(names) => names
                .iter()
                .filter_map(|n| {
                    let found = Channel::from_name(n);
                    if found.is_none() {
                        problems.push(Problem::new(
                            "journeys.quiet_hours_channels",
                            format!("unknown channel '{n}'"),
                        ));
                    }
                    found
                })
                .collect(),
        };
        let then = match settings
            .text("journeys.quiet_hours_then")
            .unwrap_or("delay")
        {
            "delay" => QuietAction::Delay,
            "skip" => QuietAction::Skip,
            other => {
                problems.push(Problem::new(
                    "journeys.quiet_hours_then",
                    format!("'{other}' is not delay or skip"),
                ));
                QuietAction::Delay
            }
        };
        match times {
            Some((start, end)) => {
                policy.quiet_hours = Some(QuietHours {
                    start,
                    end,
                    channels,
                    then,
                })
            }
            None => problems.push(Problem::new(
                "journeys.quiet_hours",
                format!("'{window}' is not HH:MM-HH:MM, e.g. \"21:00-08:00\""),
            )),
        }
    }
    if let Some(percent) = settings.count("journeys.global_holdout_percent") {
        if percent > 100 {
            problems.push(Problem::new(
                "journeys.global_holdout_percent",
                "must be from 0 to 100",
            ));
        }
        policy.global_holdout_basis_points = (percent.min(100) * 100) as u32;
    }
    if let Some(zone) = settings.text("journeys.time_zone") {
        match jiff::tz::TimeZone::get(zone) {
            Ok(tz) => policy.default_time_zone = tz,
            Err(_) => problems.push(Problem::new(
                "journeys.time_zone",
                format!("unknown time zone '{zone}'"),
            )),
        }
    }
    policy
}

fn time(text: &str) -> Option<jiff::civil::Time> {
    jiff::civil::Time::strptime("%H:%M", text.trim()).ok()
}

/// `email 1/1d`, `all 3/7d`.
fn frequency_cap(text: &str) -> Option<FrequencyCap> {
    let (channel, rule) = text.trim().split_once(' ')?;
    let channel = match channel {
        "all" => None,
        name => Some(Channel::from_name(name)?),
    };
    let (max, period) = rule.trim().split_once('/')?;
    let per = humantime::parse_duration(period.trim())
        .ok()
        .filter(|d| !d.is_zero())?;
    Some(FrequencyCap {
        channel,
        max: max.trim().parse().ok()?,
        per_millis: per.as_millis() as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequency_caps_read_channel_max_and_period() {
        let cap = frequency_cap("email 1/1d").unwrap();
        assert_eq!(
            (cap.channel, cap.max, cap.per_millis),
            (Some(Channel::Email), 1, 86_400_000)
        );
        assert_eq!(frequency_cap("all 3/7d").unwrap().channel, None);
        assert!(frequency_cap("fax 1/1d").is_none());
        assert!(frequency_cap("email one/1d").is_none());
        assert!(frequency_cap("email 1/0s").is_none());
    }
}
