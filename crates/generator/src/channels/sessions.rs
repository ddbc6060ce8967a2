//! Web and app sessions: browsing, logging in, landing from a campaign.

use crate::catalog::pages::Page;
use crate::catalog::people::COMPANIES;
use crate::catalog::products::PRODUCTS;
use crate::event::{CampaignRef, What};
use crate::model::ALIAS_SHARE;
use crate::profile::Journey;
use crate::sample::{chance, pick_index, poisson, uniform, weighted};
use crate::timeline::{MINUTE, SECOND};

impl Journey<'_> {
    /// When the next hit of a session lands after one at `at`.
    pub(crate) fn after_hit(&mut self, at: i64) -> i64 {
        at + uniform(self.rng, 4 * SECOND, 75 * SECOND)
    }

    pub(crate) fn random_product(&mut self) -> u8 {
        pick_index(self.rng, PRODUCTS.len()) as u8
    }

    pub(crate) fn view(
        &mut self,
        device: u8,
        at: i64,
        page: Page,
        product: u8,
        campaign: Option<CampaignRef>,
    ) -> bool {
        self.push(
            at,
            device,
            What::View {
                page,
                product,
                campaign,
            },
        )
    }

    /// A product page followed by its `Product Viewed`; returns the time of
    /// the track event.
    pub(crate) fn view_product(
        &mut self,
        device: u8,
        at: i64,
        product: u8,
        campaign: Option<CampaignRef>,
    ) -> Option<i64> {
        if !self.view(device, at, Page::Product, product, campaign) {
            return None;
        }
        let viewed_at = at + uniform(self.rng, 150, 1_500);
        self.push(viewed_at, device, What::ProductViewed { product })
            .then_some(viewed_at)
    }

    /// `pages` hits of aimless browsing; returns when the next hit would land.
    pub(crate) fn wander(&mut self, device: u8, mut at: i64, pages: u32) -> Option<i64> {
        for _ in 0..pages {
            let page = weighted(self.rng, &Page::BROWSING);
            let product = self.random_product();
            let last = if page == Page::Product {
                self.view_product(device, at, product, None)?
            } else {
                self.view(device, at, page, product, None).then_some(at)?
            };
            at = self.after_hit(last);
        }
        Some(at)
    }

    pub(crate) fn browse_session(&mut self, device: u8, at: i64) {
        let pages = 2 + poisson(self.rng, 1.5);
        self.wander(device, at, pages);
    }

    /// First visit of a device: a look around, then (for people who will be
    /// identified) a login with `identify`, sometimes `alias`, and `group`
    /// for business buyers.
    pub(crate) fn first_session(&mut self, device: u8, at: i64) {
        let pages = 1 + poisson(self.rng, 1.0);
        let Some(at) = self.wander(device, at, pages) else {
            return;
        };
        if !self.person.identified || !self.view(device, at, Page::Account, 0, None) {
            return;
        }
        let at = self.after_hit(at);
        if !self.push(at, device, What::Identify) {
            return;
        }
        if device == 0 {
            self.identified_at = at;
        }
        let first_time = device == 0 && self.person.new_customer;
        let mut at = at + uniform(self.rng, 20, 400);
        self.push(at, device, What::SignedIn { first_time });
        if chance(self.rng, ALIAS_SHARE) {
            at += uniform(self.rng, 5, 200);
            self.push(at, device, What::Alias);
        }
        if let (0, Some(company)) = (device, self.person.company) {
            debug_assert!(usize::from(company) < COMPANIES.len());
            let grouped_at = at + uniform(self.rng, 5, 200);
            self.push(grouped_at, device, What::Group { company });
        }
    }

    /// The visit that follows a click on a campaign: its landing page, then a
    /// short look around.
    pub(crate) fn landing_session(&mut self, device: u8, at: i64, campaign: CampaignRef) {
        let product = self.random_product();
        let Some(last) = self.view_product(device, at, product, Some(campaign)) else {
            return;
        };
        let more = poisson(self.rng, 1.0).min(3);
        let next = self.after_hit(last);
        self.wander(device, next, more);
    }

    /// A click time in `[from, decision - 10 min)`, kept before the decision
    /// even when the window is too short for the preferred range.
    pub(crate) fn click_moment(&mut self, from: i64) -> i64 {
        let hi = self.decision_at - 10 * MINUTE;
        let lo = from.min(hi - MINUTE);
        self.timeline.waking_moment(self.rng, lo, hi)
    }
}
