//! The human-readable statement of each planted truth, shipped inside the
//! truths JSON so a reader of that file needs nothing else.

use serde::Serialize;

/// How to read each section of [`super::PlantedTruths`].
#[derive(Debug, Clone, Serialize)]
pub struct TruthDocs {
    pub overview: &'static str,
    pub conventions: &'static str,
    pub channel_effects: &'static str,
    pub funnel: &'static str,
    pub identity: &'static str,
    pub satisfaction: &'static str,
}

impl TruthDocs {
    pub(crate) fn new() -> Self {
        TruthDocs {
            overview: "Each section states a planted parameter of the generative model \
                and the value realised in this output. Realised values are counted from \
                the messages as written, with the rules in `conventions`, so an analytics \
                engine reading the JSONL must arrive at exactly the realised numbers and \
                close to the planted ones.",
            conventions: "A profile is a connected group of ids: userId and anonymousId \
                appearing on the same message belong together (alias previousId too). \
                Identified profile: at least one message with userId. Anonymous-only \
                profile: none. Online event: context.channel is web or app. Conversion: an \
                online `Order Completed` (store orders, context.channel=store, are offline \
                and never count). Messages of a profile are contiguous and in time order.",
            channel_effects: "Population: identified profiles. Exposure to a channel: at \
                least one click event of it (Email Link Clicked, SMS Link Clicked, Ad \
                Clicked, Social Post Clicked); sends and opens are not exposures. Exposures \
                are drawn independently per channel, and every click happens before the \
                person's single shopping session. In that session P(Product Added) = \
                0.35 x the product of the rate ratios of the exposed channels; the later \
                funnel steps do not depend on touches, so each ratio is also the causal \
                ratio of conversion probabilities (exposed vs not, others held fixed). \
                Social is the bystander: clicked as often as ads, true ratio exactly 1.",
            funnel: "Online funnel in Segment e-commerce names: Product Viewed -> Product \
                Added -> Checkout Started -> Payment Info Entered -> Order Completed. A \
                profile reaches step k when its online events contain steps 1..k in that \
                order (greedy scan in time order). Planted step rates are P(step k | step \
                k-1); the first transition's is an average over people (anonymous-only \
                people never add to cart, the rest follow the channel model). The planted \
                drop-off is Payment Info Entered -> Order Completed at 0.35, the lowest \
                step rate. Some who fail at payment call the call centre within hours \
                (Call Started reason payment_problem).",
            identity: "Anonymous-only people browse on one device and never identify. \
                Everyone else identifies (identify with userId and traits email, phone, \
                names, timezone, country, createdAt) in their first session; a planted \
                share also uses a second device (desktop vs app), which identifies as the \
                same userId, giving two anonymousIds. Some logins also send alias. \
                Server-side messages (email, SMS, call centre, store) carry userId only; \
                store purchases add context.externalIds loyalty_card, calls phone.",
            satisfaction: "NPS (`NPS Survey Answered`, score 0-10) comes after the \
                person's last service contact. Its score is drawn from one baseline \
                distribution for everyone, minus exactly 3 points when a ticket is open \
                at answer time: a `Ticket Opened` earlier in the profile whose ticket_id \
                has no earlier `Ticket Resolved`. So the expected mean difference is \
                exactly 3. CSAT (`CSAT Survey Answered`, 1-5, by SMS) follows a call; \
                its distribution depends on whether that call (same call_id on `Call \
                Ended`) was resolved.",
        }
    }
}
