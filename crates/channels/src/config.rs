//! Where each channel delivers, and how hard it tries.

use std::time::Duration;

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text (a relay on the same host or network).
    None,
    /// Upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// An SMTP server to send email through.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `Percorso Shop <news@shop.example>`.
    pub from: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpConfig {
    // The password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .finish()
    }
}

/// An SMS or push provider reached by webhook: Percorso POSTs
/// `{"to", "text", "title", "key", "journey", "step", "profile"}` to `url`
/// with these headers (for example the provider's API key).
#[derive(Clone)]
pub struct ProviderWebhook {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for ProviderWebhook {
    // Header values are often credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("ProviderWebhook")
            .field("url", &self.url)
            .field("headers", &names)
            .finish()
    }
}

/// Retries with exponential backoff and full jitter: attempt `n` (from 1)
/// waits a random time up to `min(cap, base × 2^(n-1))`; after
/// `max_attempts` the message is dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// The wait before retrying after failed attempt `attempt` (from 1).
    /// The jitter is a hash of the message key and attempt: spread over
    /// messages like a random draw, but the same on every run.
    pub fn backoff(&self, key: &str, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .base
            .saturating_mul(1u32 << exponent)
            .min(self.cap)
            .as_millis() as u64;
        let draw = xxhash_rust::xxh3::xxh3_64(format!("{key}#{attempt}").as_bytes());
        Duration::from_millis(draw % (ceiling + 1))
    }
}

/// Everything the deliverer needs; a channel left out fails its messages
/// permanently with a clear reason.
#[derive(Debug, Clone, Default)]
pub struct ChannelsConfig {
    pub smtp: Option<SmtpConfig>,
    pub sms: Option<ProviderWebhook>,
    pub push: Option<ProviderWebhook>,
    /// Per request, for webhooks and providers.
    pub http_timeout: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_and_stays_under_it() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1_000),
        };
        for attempt in 1..12 {
            let ceiling = (100u64 << (attempt - 1).min(20)).min(1_000);
            let waits: Vec<u64> = (0..200)
                .map(|k| policy.backoff(&format!("k{k}"), attempt).as_millis() as u64)
                .collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "attempt {attempt}");
            let mean = waits.iter().sum::<u64>() as f64 / waits.len() as f64;
            // Full jitter: uniform over [0, ceiling], mean near half of it.
            assert!(
                (mean - ceiling as f64 / 2.0).abs() < ceiling as f64 * 0.15,
                "attempt {attempt}: {mean}"
            );
        }
        assert_eq!(policy.backoff("k", 3), policy.backoff("k", 3));
    }
}
