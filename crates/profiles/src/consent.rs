//! Per-channel subscription state, for journeys to respect: from traits
//! (`emailSubscribed: false`, `sms_opt_in: true`, `unsubscribed: true`) and
//! from events (`Unsubscribed` / `Subscribed` with `properties.channel`,
//! `Email Unsubscribed`, `Email Marked as Spam`). The latest event wins.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::filter::Fields;

/// Channels whose consent is tracked.
pub const CHANNELS: [&str; 4] = ["email", "sms", "push", "whatsapp"];

/// The state of one channel and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub subscribed: bool,
    pub updated_at: i64,
    /// What set it: `trait emailSubscribed`, `event Unsubscribed`, ...
    pub reason: String,
}

/// Subscription state of one profile, by channel; a channel never
/// mentioned is unknown, which journeys treat as their policy says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriptions {
    by_channel: BTreeMap<String, Subscription>,
}

impl Subscriptions {
    /// Applies what `event` says about consent; returns changed channels.
    pub fn apply(&mut self, event: &impl Fields, timestamp: i64) -> Vec<String> {
        let mut changed = Vec::new();
        for (channel, subscribed, reason) in statements(event) {
            let statement = Subscription {
                subscribed,
                updated_at: timestamp,
                reason,
            };
            if self.offer(channel, statement) {
                changed.push(channel.to_owned());
            }
        }
        changed
    }

    /// Folds in another profile's consent (after an identity merge).
    pub fn merge(&mut self, other: Subscriptions) {
        for (channel, statement) in other.by_channel {
            self.offer(&channel, statement);
        }
    }

    /// Keeps the later statement; at the same millisecond an opt-out wins,
    /// so the outcome never depends on the order events are applied in.
    /// Returns whether the channel's state changed.
    fn offer(&mut self, channel: &str, statement: Subscription) -> bool {
        let newer = self.by_channel.get(channel).is_none_or(|current| {
            (statement.updated_at, !statement.subscribed)
                >= (current.updated_at, !current.subscribed)
        });
        if !newer {
            return false;
        }
        let subscribed = statement.subscribed;
        let previous = self.by_channel.insert(channel.to_owned(), statement);
        previous.is_none_or(|p| p.subscribed != subscribed)
    }

    /// Every channel with a known state.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Subscription)> {
        self.by_channel.iter()
    }

    /// `Some(true)` subscribed, `Some(false)` unsubscribed, `None` unknown.
    pub fn allows(&self, channel: &str) -> Option<bool> {
        self.by_channel.get(channel).map(|s| s.subscribed)
    }

    pub fn get(&self, channel: &str) -> Option<&Subscription> {
        self.by_channel.get(channel)
    }
}

/// The traits that state a channel's consent, by channel (in `CHANNELS`
/// order). Spelled out rather than formatted per event: every identify
/// looks for all of them.
const CONSENT_TRAITS: [[&str; 4]; CHANNELS.len()] = [
    [
        "emailSubscribed",
        "email_subscribed",
        "emailOptIn",
        "email_opt_in",
    ],
    ["smsSubscribed", "sms_subscribed", "smsOptIn", "sms_opt_in"],
    [
        "pushSubscribed",
        "push_subscribed",
        "pushOptIn",
        "push_opt_in",
    ],
    [
        "whatsappSubscribed",
        "whatsapp_subscribed",
        "whatsappOptIn",
        "whatsapp_opt_in",
    ],
];

/// `(channel, subscribed, reason)` statements an event makes.
fn statements(event: &impl Fields) -> Vec<(&'static str, bool, String)> {
    let mut found = Vec::new();
    if let Some(Value::Object(traits)) = event.at("traits") {
        if traits.get("unsubscribed") == Some(&Value::Bool(true)) {
            found.extend(CHANNELS.map(|c| (c, false, "trait unsubscribed".to_owned())));
        }
        for (channel, names) in CHANNELS.into_iter().zip(CONSENT_TRAITS) {
            for name in names {
                if let Some(Value::Bool(subscribed)) = traits.get(name) {
                    found.push((channel, *subscribed, format!("trait {name}")));
                }
            }
        }
    }
    if let Some(name) = event.at("event").and_then(Value::as_str) {
        let named = event.at("properties.channel").and_then(Value::as_str);
        let (subscribed, channel) = match name {
            "Unsubscribed" => (false, named),
            "Subscribed" => (true, named),
            "Email Unsubscribed" | "Email Marked as Spam" => (false, Some("email")),
            "SMS Unsubscribed" => (false, Some("sms")),
            "Push Unsubscribed" => (false, Some("push")),
            _ => return found,
        };
        if let Some(channel) =
            channel.and_then(|c| CHANNELS.iter().find(|k| k.eq_ignore_ascii_case(c)))
        {
            found.push((channel, subscribed, format!("event {name}")));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_is_read_from_its_four_trait_spellings() {
        for (channel, names) in CHANNELS.into_iter().zip(CONSENT_TRAITS) {
            let expected = [
                format!("{channel}Subscribed"),
                format!("{channel}_subscribed"),
                format!("{channel}OptIn"),
                format!("{channel}_opt_in"),
            ];
            assert_eq!(names.map(str::to_owned), expected);
        }
    }
}
