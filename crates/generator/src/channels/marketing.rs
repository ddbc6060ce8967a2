//! Marketing touches: e-mail and SMS sends with opens and clicks, ad and
//! social clicks. Only clicks expose a person (see `model::Touch`), and every
//! click lands before the shopping decision, so exposure precedes outcome.

use crate::catalog::campaigns::{AD_CAMPAIGNS, EMAIL_CAMPAIGNS, SMS_CAMPAIGNS, SOCIAL_CAMPAIGNS};
use crate::event::{CampaignRef, What, NO_DEVICE};
use crate::model::{Touch, EMAILS_PER_DAY, EMAIL_OPEN_SHARE, EXTRA_CLICKS_PER_DAY, SMS_PER_DAY};
use crate::profile::{Journey, NEVER};
use crate::sample::{chance, pick_index, poisson, uniform};
use crate::timeline::{DAY, HOUR, MINUTE, SECOND};

impl Journey<'_> {
    pub(crate) fn marketing(&mut self) {
        if self.identified_at != NEVER {
            self.emails();
            if self.person.sms_subscriber {
                self.sms();
            }
        }
        self.clicks_from(Touch::Ads);
        self.clicks_from(Touch::Social);
    }

    /// Number of clicks of an exposed person: at least one, more in longer windows.
    fn click_count(&mut self) -> u32 {
        1 + poisson(self.rng, EXTRA_CLICKS_PER_DAY * self.timeline.days())
    }

    fn campaign(&mut self, touch: Touch) -> u8 {
        let pool = match touch {
            Touch::Email => EMAIL_CAMPAIGNS.len(),
            Touch::Sms => SMS_CAMPAIGNS.len(),
            Touch::Ads => AD_CAMPAIGNS.len(),
            Touch::Social => SOCIAL_CAMPAIGNS.len(),
        };
        pick_index(self.rng, pool) as u8
    }

    fn emails(&mut self) {
        let from = self.identified_at + HOUR;
        let end = self.timeline.end;
        let sends = poisson(self.rng, EMAILS_PER_DAY * self.timeline.days());
        for _ in 0..sends {
            let sent_at = self
                .timeline
                .moment_within_hours(self.rng, from, end, 8, 20);
            let campaign = self.campaign(Touch::Email);
            let email = self.counters.next_email();
            if self.push(sent_at, NO_DEVICE, What::EmailSent { campaign, email })
                && chance(self.rng, EMAIL_OPEN_SHARE)
            {
                let opened_at = sent_at + uniform(self.rng, 2 * MINUTE, 30 * HOUR);
                self.push(opened_at, NO_DEVICE, What::EmailOpened { campaign, email });
            }
        }
        if !self.person.is_exposed(Touch::Email) {
            return;
        }
        for _ in 0..self.click_count() {
            let clicked_at = self.click_moment(from + HOUR);
            let sent_at = uniform(
                self.rng,
                (clicked_at - 2 * DAY).max(from),
                clicked_at - 5 * MINUTE,
            );
            let opened_at = uniform(self.rng, sent_at + MINUTE, clicked_at - 20 * SECOND);
            let campaign = self.campaign(Touch::Email);
            let email = self.counters.next_email();
            self.push(sent_at, NO_DEVICE, What::EmailSent { campaign, email });
            self.push(opened_at, NO_DEVICE, What::EmailOpened { campaign, email });
            self.push(
                clicked_at,
                NO_DEVICE,
                What::EmailLinkClicked { campaign, email },
            );
            self.land(clicked_at, Touch::Email, campaign);
        }
    }

    fn sms(&mut self) {
        let from = self.identified_at + HOUR;
        let sends = poisson(self.rng, SMS_PER_DAY * self.timeline.days());
        for _ in 0..sends {
            let sent_at =
                self.timeline
                    .moment_within_hours(self.rng, from, self.timeline.end, 9, 20);
            let campaign = self.campaign(Touch::Sms);
            let sms = self.counters.next_sms();
            self.push(sent_at, NO_DEVICE, What::SmsSent { campaign, sms });
        }
        if !self.person.is_exposed(Touch::Sms) {
            return;
        }
        for _ in 0..self.click_count() {
            let clicked_at = self.click_moment(from + HOUR);
            let sent_at = uniform(
                self.rng,
                (clicked_at - 6 * HOUR).max(from),
                clicked_at - 30 * SECOND,
            );
            let campaign = self.campaign(Touch::Sms);
            let sms = self.counters.next_sms();
            self.push(sent_at, NO_DEVICE, What::SmsSent { campaign, sms });
            self.push(
                clicked_at,
                NO_DEVICE,
                What::SmsLinkClicked { campaign, sms },
            );
            self.land(clicked_at, Touch::Sms, campaign);
        }
    }

    /// Ad and social clicks happen in a browser or app, so they carry the
    /// device's anonymous id and need no login.
    fn clicks_from(&mut self, touch: Touch) {
        if !self.person.is_exposed(touch) {
            return;
        }
        for _ in 0..self.click_count() {
            let clicked_at = self.click_moment(self.first_seen_at + 10 * MINUTE);
            let device = self.device_at(clicked_at);
            let campaign = self.campaign(touch);
            let what = match touch {
                Touch::Social => What::SocialPostClicked { campaign },
                _ => What::AdClicked { campaign },
            };
            if self.push(clicked_at, device, what) {
                let landed_at = clicked_at + uniform(self.rng, SECOND, 4 * SECOND);
                let campaign = CampaignRef {
                    touch,
                    index: campaign,
                };
                self.landing_session(device, landed_at, campaign);
            }
        }
    }

    fn land(&mut self, clicked_at: i64, touch: Touch, campaign: u8) {
        let device = self.device_at(clicked_at);
        let landed_at = clicked_at + uniform(self.rng, SECOND, 4 * SECOND);
        let campaign = CampaignRef {
            touch,
            index: campaign,
        };
        self.landing_session(device, landed_at, campaign);
    }
}
