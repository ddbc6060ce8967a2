//! A send step: holdout, consent, quiet hours and frequency caps decide
//! whether the message goes; then it is rendered into an [`Action::Send`].

use serde_json::Value;

use super::run::{effect_key, failed, globals, Out};
use super::Machine;
use crate::actions::{Action, Content, Message, PathEvent, Suppression};
use crate::definition::{Channel, Journey, ZoneChoice};
use crate::policy::QuietAction;
use crate::state::Instance;
use crate::template::{MessageTemplate, Text};
use crate::view::ProfileView;

impl Machine<'_> {
    /// Sends, suppresses or fails; `Some(due)` puts the send off until the
    /// quiet hours end.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send(
        &self,
        out: &mut Out<'_>,
        journey: &Journey,
        inst: &Instance,
        profile: &dyn ProfileView,
        channel: Channel,
        template: &str,
        now: i64,
    ) -> Option<i64> {
        let suppress = |out: &mut Out<'_>, reason: Suppression| {
            out.record(
                journey,
                inst,
                now,
                PathEvent::Suppressed { channel, reason },
            );
        };
        if inst.control {
            suppress(out, Suppression::HeldOut);
            return None;
        }
        if channel != Channel::Webhook && !profile.subscribed(channel.name()) {
            suppress(out, Suppression::Unsubscribed);
            return None;
        }
        if let Some(quiet) = &self.policy.quiet_hours {
            let zone = self.zone(journey, &ZoneChoice::Customer, profile);
            if let Some(end) = quiet.ends_after(channel, now, &zone) {
                if quiet.then == QuietAction::Delay {
                    return Some(end);
                }
                suppress(out, Suppression::QuietHours);
                return None;
            }
        }
        if self
            .policy
            .caps
            .iter()
            .any(|c| c.reached(out.sent, channel, now))
        {
            suppress(out, Suppression::FrequencyCap);
            return None;
        }
        let globals = globals(journey, inst, profile);
        let template = &journey.templates[template];
        let content = match render(template, channel, &globals, profile) {
            Ok(Some(content)) => content,
            Ok(None) => {
                suppress(out, Suppression::NoAddress);
                return None;
            }
            Err(reason) => {
                failed(out, journey, inst, now, reason);
                return None;
            }
        };
        let key = effect_key(journey, inst, profile);
        let what = PathEvent::Sent {
            key: key.clone(),
            channel,
        };
        out.record(journey, inst, now, what);
        out.actions.push(Action::Send(Message {
            key,
            journey: journey.name.clone(),
            version: inst.version,
            step: inst.step.clone(),
            profile: profile.profile_id().to_owned(),
            at: now,
            content,
        }));
        out.sent.push((now, channel));
        None
    }
}

/// The message's content; `Ok(None)` when there is no address to send to.
fn render(
    template: &MessageTemplate,
    channel: Channel,
    globals: &Value,
    profile: &dyn ProfileView,
) -> Result<Option<Content>, String> {
    let optional = |t: &Option<Text>| t.as_ref().map(|t| t.render(globals)).transpose();
    // The address: the template's `to`, else the profile's own.
    let address = |to: &Option<Text>, fallback: Option<String>| -> Result<Option<String>, String> {
        let found = match to {
            Some(t) => Some(t.render(globals)?),
            None => fallback,
        };
        Ok(found.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()))
    };
    let text_trait = |name: &str| {
        profile
            .trait_value(name)
            .and_then(|v| v.as_str().map(str::to_owned))
    };
    Ok(match template {
        MessageTemplate::Email {
            to,
            subject,
            html,
            text,
        } => {
            let Some(to) = address(to, text_trait("email"))? else {
                return Ok(None);
            };
            Some(Content::Email {
                to,
                subject: subject.render(globals)?,
                html: optional(html)?,
                text: optional(text)?,
            })
        }
        MessageTemplate::Notification { to, title, text } if channel == Channel::Sms => {
            let Some(to) = address(to, text_trait("phone"))? else {
                return Ok(None);
            };
            let _ = title;
            Some(Content::Sms {
                to,
                text: text.render(globals)?,
            })
        }
        MessageTemplate::Notification { to, title, text } => {
            let Some(to) = address(to, Some(profile.profile_id().to_owned()))? else {
                return Ok(None);
            };
            Some(Content::Push {
                to,
                title: optional(title)?,
                text: text.render(globals)?,
            })
        }
        MessageTemplate::Webhook {
            method,
            url,
            headers,
            body,
        } => Some(Content::Webhook {
            method: method.clone(),
            url: url.render(globals)?,
            headers: headers
                .iter()
                .map(|(k, v)| Ok((k.clone(), v.render(globals)?)))
                .collect::<Result<_, String>>()?,
            body: body.as_ref().map(|b| b.render(globals)).transpose()?,
        }),
    })
}
