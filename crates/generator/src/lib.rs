//! Deterministic generator of realistic multichannel customer journeys, as
//! Segment spec messages (JSONL), with planted truths to check analytics
//! against.
//!
//! # What it writes
//! One JSON object per line: `track`, `identify`, `page`, `screen`, `alias`
//! and `group` messages with a deterministic UUID `messageId`, an ISO-8601
//! UTC `timestamp` with milliseconds, `userId` and/or `anonymousId`, and a
//! channel-appropriate `context` (`context.channel` is one of web, app,
//! email, sms, ads, social, call_centre, store). A profile's messages are
//! contiguous and in time order; profiles follow each other by index.
//!
//! People browse anonymously on the web or in the app, log in (identify,
//! sometimes alias), sometimes on a second device; receive, open and click
//! e-mails and SMS; click ads and social posts; shop once online through the
//! e-commerce funnel (Product Viewed → Product Added → Checkout Started →
//! Payment Info Entered → Order Completed); buy in stores with a loyalty
//! card; call the call centre, open tickets, and answer NPS and CSAT surveys.
//!
//! # Planted truths
//! [`PlantedTruths`] (in [`GenerateSummary::truths`]) reports each truth's
//! planted parameters and the values realised in this output, counted from
//! the messages as written; its `docs` section states the rules in full.
//! - **Channel effects.** Among identified people, a click on email, SMS, ads
//!   multiplies the probability of converting (online `Order Completed`) by
//!   1.6, 1.2 and 1.4; social is a bystander with ratio exactly 1.
//!   Exposures are independent and all precede the shopping session.
//! - **Funnel drop-off.** Planted step rates are about 0.42 (averaged over
//!   people), 0.70, 0.85 and 0.35: Payment Info Entered → Order Completed is
//!   the big drop.
//! - **Identity.** 15% of people never identify; 25% of identified people use
//!   two devices, i.e. two anonymousIds identified as one userId.
//! - **Satisfaction.** NPS is 3 points lower, exactly in expectation, for
//!   people with a ticket open when they answer; CSAT after a resolved call
//!   averages 4.45, after an unresolved one 1.95.
//!
//! # Determinism
//! The same [`GeneratorConfig`] (seed, profiles, days, start) gives the same
//! bytes whatever the thread count: each profile has its own PRNG seeded
//! from (seed, profile index), and chunks are written in order.

mod catalog;
mod channels;
mod config;
mod emit;
mod event;
mod generate;
mod ids;
mod model;
mod person;
mod profile;
mod sample;
mod timeline;
mod truths;

pub use config::GeneratorConfig;
pub use generate::{generate, GenerateSummary};
pub use truths::{
    ChannelEffect, ChannelEffects, FunnelStep, FunnelTruth, IdentityTruth, PlantedChannelEffect,
    PlantedTruths, RealisedChannelEffect, RunParameters, SatisfactionTruth, ScoreGroup, TruthDocs,
};
