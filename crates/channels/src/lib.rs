//! Delivering journey messages. [`Deliverer`] makes one attempt on a
//! message's channel — email over SMTP (lettre), webhooks and SMS/push
//! provider webhooks over HTTP (reqwest) — with the message's key as its
//! `Message-ID` or `Idempotency-Key`. [`Executor`] drains messages through
//! it with retries (exponential backoff, full jitter) and reports each
//! message's outcome: delivered, or dead-lettered with the reason.

mod config;
mod deliver;
mod executor;

pub use config::{ChannelsConfig, ProviderWebhook, RetryPolicy, SmtpConfig, SmtpSecurity};
pub use deliver::{Deliverer, DeliveryError};
pub use executor::{Executor, Outcome, Report};
