//! The planted parameters: the generative model whose truths later
//! analytics must recover. Changing a number here changes the documented
//! truth, so keep `truths::docs` in step.

/// A marketing channel whose click is an exposure in the conversion model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Touch {
    Email,
    Sms,
    Ads,
    Social,
}

impl Touch {
    pub(crate) const ALL: [Touch; 4] = [Touch::Email, Touch::Sms, Touch::Ads, Touch::Social];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// `context.channel` of the touch.
    pub(crate) fn channel(self) -> &'static str {
        match self {
            Touch::Email => "email",
            Touch::Sms => "sms",
            Touch::Ads => "ads",
            Touch::Social => "social",
        }
    }

    /// The track event whose presence makes a person exposed to the channel.
    pub(crate) fn exposure_event(self) -> &'static str {
        match self {
            Touch::Email => "Email Link Clicked",
            Touch::Sms => "SMS Link Clicked",
            Touch::Ads => "Ad Clicked",
            Touch::Social => "Social Post Clicked",
        }
    }

    /// Share of people exposed, drawn independently per channel.
    pub(crate) fn exposure_share(self) -> f64 {
        match self {
            Touch::Email => 0.35,
            Touch::Sms => SMS_SUBSCRIBER_SHARE * 0.4,
            Touch::Ads => 0.30,
            Touch::Social => 0.30,
        }
    }

    /// Multiplier on the probability of adding to cart (and therefore of
    /// ordering, since later funnel steps do not depend on touches).
    /// Social is the bystander: frequent, clicked, and of no effect.
    pub(crate) fn conversion_rate_ratio(self) -> f64 {
        match self {
            Touch::Email => 1.6,
            Touch::Sms => 1.2,
            Touch::Ads => 1.4,
            Touch::Social => 1.0,
        }
    }
}

pub(crate) const BYSTANDER: Touch = Touch::Social;

// Identity.
pub(crate) const ANONYMOUS_ONLY_SHARE: f64 = 0.15;
/// Of identified people.
pub(crate) const MULTI_DEVICE_SHARE: f64 = 0.25;
pub(crate) const ALIAS_SHARE: f64 = 0.30;
pub(crate) const NEW_CUSTOMER_SHARE: f64 = 0.30;
pub(crate) const B2B_SHARE: f64 = 0.05;
pub(crate) const APP_FIRST_SHARE: f64 = 0.35;
pub(crate) const SMS_SUBSCRIBER_SHARE: f64 = 0.5;
pub(crate) const STORE_SHOPPER_SHARE: f64 = 0.5;

// The online funnel, in Segment e-commerce spec names.
pub(crate) const FUNNEL_STEPS: [&str; 5] = [
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Payment Info Entered",
    "Order Completed",
];
/// P(Product Added | shopping session) for an identified person with no exposure.
pub(crate) const BASE_ADD_TO_CART: f64 = 0.35;
/// P(step k | step k-1) for Checkout Started, Payment Info Entered, Order Completed.
pub(crate) const STEP_RATES_AFTER_ADD: [f64; 3] = [0.70, 0.85, 0.35];
/// Index in `FUNNEL_STEPS` of the step entered with the planted big drop-off.
pub(crate) const DROP_OFF_STEP: usize = 4;
/// Share of people abandoning at payment who call within hours.
pub(crate) const CALL_AFTER_FAILED_PAYMENT_SHARE: f64 = 0.30;

// Service and satisfaction.
pub(crate) const CALL_RESOLVED_SHARE: f64 = 0.70;
pub(crate) const TICKET_AFTER_UNRESOLVED_CALL_SHARE: f64 = 0.60;
pub(crate) const TICKET_RESOLVED_SHARE: f64 = 0.70;
pub(crate) const CSAT_AFTER_CALL_SHARE: f64 = 0.40;
pub(crate) const NPS_RESPONSE_SHARE: f64 = 0.40;
/// NPS score before any penalty: (score, weight), the same for everyone.
pub(crate) const NPS_BASELINE: [(u8, u32); 5] = [(6, 10), (7, 15), (8, 25), (9, 25), (10, 25)];
/// Subtracted from the baseline when the respondent has an unresolved ticket;
/// the baseline's floor keeps every shifted score inside 0..=10.
pub(crate) const NPS_UNRESOLVED_TICKET_PENALTY: u8 = 3;
pub(crate) const CSAT_RESOLVED_CALL: [(u8, u32); 3] = [(3, 10), (4, 35), (5, 55)];
pub(crate) const CSAT_UNRESOLVED_CALL: [(u8, u32); 3] = [(1, 35), (2, 35), (3, 30)];

// Activity rates per day of the window (Poisson means scale with `days`).
pub(crate) const BROWSE_SESSIONS_PER_DAY: f64 = 0.10;
pub(crate) const EMAILS_PER_DAY: f64 = 0.20;
pub(crate) const EMAIL_OPEN_SHARE: f64 = 0.30;
pub(crate) const SMS_PER_DAY: f64 = 0.10;
/// Extra clicks of an exposed person beyond the first.
pub(crate) const EXTRA_CLICKS_PER_DAY: f64 = 0.02;
pub(crate) const CALLS_PER_DAY: f64 = 0.008;
pub(crate) const TICKETS_PER_DAY: f64 = 0.01;
pub(crate) const STORE_VISITS_PER_DAY: f64 = 0.03;

/// Expected P(add to cart) of an identified person, averaged over exposures.
pub(crate) fn expected_identified_add_rate() -> f64 {
    Touch::ALL.iter().fold(BASE_ADD_TO_CART, |rate, touch| {
        rate * (1.0 + touch.exposure_share() * (touch.conversion_rate_ratio() - 1.0))
    })
}

/// P(online order) of an identified person with no exposure.
pub(crate) fn baseline_conversion_probability() -> f64 {
    STEP_RATES_AFTER_ADD.iter().product::<f64>() * BASE_ADD_TO_CART
}

/// Planted P(step k | step k-1) over all profiles; `None` for the first step.
/// Anonymous-only people never add to cart (checkout needs an account).
pub(crate) fn planted_step_rate(step: usize) -> Option<f64> {
    match step {
        0 => None,
        1 => Some((1.0 - ANONYMOUS_ONLY_SHARE) * expected_identified_add_rate()),
        k => Some(STEP_RATES_AFTER_ADD[k - 2]),
    }
}

pub(crate) fn weighted_mean(weights: &[(u8, u32)]) -> f64 {
    let total: u32 = weights.iter().map(|&(_, w)| w).sum();
    let sum: u32 = weights.iter().map(|&(v, w)| u32::from(v) * w).sum();
    f64::from(sum) / f64::from(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_exposed_person_still_has_a_probability() {
        let max = Touch::ALL
            .iter()
            .fold(BASE_ADD_TO_CART, |p, t| p * t.conversion_rate_ratio());
        assert!(max < 1.0, "rate ratios would need capping: {max}");
    }

    #[test]
    fn planted_drop_off_is_the_lowest_step_rate() {
        let drop = planted_step_rate(DROP_OFF_STEP).unwrap();
        for step in 1..FUNNEL_STEPS.len() {
            if step != DROP_OFF_STEP {
                assert!(planted_step_rate(step).unwrap() > drop + 0.05);
            }
        }
    }

    #[test]
    fn penalised_nps_stays_on_the_scale() {
        let floor = NPS_BASELINE.iter().map(|&(s, _)| s).min().unwrap();
        assert!(floor >= NPS_UNRESOLVED_TICKET_PENALTY);
    }
}
