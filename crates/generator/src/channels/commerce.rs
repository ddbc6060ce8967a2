//! Shopping: the one online buying decision of the window, and store visits.

use crate::catalog::pages::Page;
use crate::catalog::products::{PAYMENT_METHODS, STORES};
use crate::channels::service::PAYMENT_PROBLEM;
use crate::event::{Basket, OrderPlace, What, NO_DEVICE};
use crate::model::{
    Touch, BASE_ADD_TO_CART, CALL_AFTER_FAILED_PAYMENT_SHARE, STEP_RATES_AFTER_ADD,
    STORE_VISITS_PER_DAY,
};
use crate::profile::Journey;
use crate::sample::{chance, pick_index, poisson, uniform};
use crate::timeline::{HOUR, MINUTE};

/// Store tills take these; index into this list when the order is in a store.
pub(crate) static STORE_PAYMENT_METHODS: [&str; 3] = ["card", "cash", "contactless"];

impl Journey<'_> {
    /// P(Product Added) of this person: the baseline times the rate ratio of
    /// every channel they were exposed to.
    fn add_to_cart_probability(&self) -> f64 {
        Touch::ALL
            .iter()
            .filter(|touch| self.person.is_exposed(**touch))
            .fold(BASE_ADD_TO_CART, |p, touch| {
                p * touch.conversion_rate_ratio()
            })
    }

    /// The shopping session at `decision_at`, walking the e-commerce funnel
    /// with the planted step rates. Anonymous-only people only look.
    pub(crate) fn shopping_decision(&mut self) {
        let device = self.device_at(self.decision_at);
        let mut at = self.decision_at;
        if chance(self.rng, 0.5) {
            let product = self.random_product();
            if !self.view(device, at, Page::Category, product, None) {
                return;
            }
            at = self.after_hit(at);
        }
        let mut product = self.random_product();
        for _ in 0..1 + poisson(self.rng, 0.8).min(3) {
            product = self.random_product();
            let Some(viewed_at) = self.view_product(device, at, product, None) else {
                return;
            };
            at = self.after_hit(viewed_at);
        }
        if !self.person.identified || !chance(self.rng, self.add_to_cart_probability()) {
            return;
        }
        let cart = self.counters.next_cart();
        let mut basket = Basket::default();
        let lines = 1 + u32::from(chance(self.rng, 0.35)) + u32::from(chance(self.rng, 0.15));
        for line in 0..lines {
            if line > 0 {
                product = self.random_product();
            }
            let quantity = 1 + u8::from(chance(self.rng, 0.1));
            basket.push(product, quantity);
            if !self.push(
                at,
                device,
                What::ProductAdded {
                    product,
                    quantity,
                    cart,
                },
            ) {
                return;
            }
            at = self.after_hit(at);
        }
        if !self.view(device, at, Page::Cart, product, None)
            || !chance(self.rng, STEP_RATES_AFTER_ADD[0])
        {
            return;
        }
        at = self.after_hit(at);
        let order = self.counters.next_order();
        if !self.view(device, at, Page::Checkout, product, None)
            || !self.push(at + 300, device, What::CheckoutStarted { basket, order })
            || !chance(self.rng, STEP_RATES_AFTER_ADD[1])
        {
            return;
        }
        at += uniform(self.rng, 30_000, 240_000);
        let method = pick_index(self.rng, PAYMENT_METHODS.len()) as u8;
        if !self.push(at, device, What::PaymentInfoEntered { order, method }) {
            return;
        }
        at += uniform(self.rng, 2_000, 20_000);
        if chance(self.rng, STEP_RATES_AFTER_ADD[2]) {
            let place = OrderPlace::Online;
            self.push(
                at,
                device,
                What::OrderCompleted {
                    basket,
                    order,
                    method,
                    place,
                },
            );
        } else if chance(self.rng, CALL_AFTER_FAILED_PAYMENT_SHARE) {
            // "Called back an hour after failing online checkout."
            let call_at = at + uniform(self.rng, 20 * MINUTE, 3 * HOUR);
            self.call(call_at, PAYMENT_PROBLEM);
        }
    }

    /// Offline purchases recognised by loyalty card: no device, no anonymous id.
    pub(crate) fn store_visits(&mut self) {
        if !self.person.store_shopper {
            return;
        }
        let country = self.person.country.code;
        let local_stores = STORES.iter().filter(|s| s.2 == country).count();
        let visits = poisson(self.rng, STORE_VISITS_PER_DAY * self.timeline.days());
        for _ in 0..visits {
            let at = self.timeline.moment_within_hours(
                self.rng,
                self.identified_at,
                self.timeline.end,
                9,
                20,
            );
            let store = nth_store_in(country, pick_index(self.rng, local_stores));
            let mut basket = Basket::default();
            for _ in 0..1 + poisson(self.rng, 0.6).min(2) {
                let product = self.random_product();
                basket.push(product, 1);
            }
            let order = self.counters.next_order();
            let method = pick_index(self.rng, STORE_PAYMENT_METHODS.len()) as u8;
            let place = OrderPlace::Store(store);
            self.push(
                at,
                NO_DEVICE,
                What::OrderCompleted {
                    basket,
                    order,
                    method,
                    place,
                },
            );
        }
    }
}

/// Index in `STORES` of the `nth` store in `country`.
fn nth_store_in(country: &str, nth: usize) -> u8 {
    let position = STORES
        .iter()
        .enumerate()
        .filter(|(_, s)| s.2 == country)
        .nth(nth)
        .map_or(0, |(i, _)| i);
    position as u8
}
