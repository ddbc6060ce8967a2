//! Planted truths: the generative parameters next to what this particular
//! output realised. Serialised by the CLI as pretty JSON; `docs` says how to
//! read every section.

mod docs;
pub(crate) mod tally;

use serde::Serialize;

use crate::config::GeneratorConfig;
use crate::model::{
    self, Touch, ALIAS_SHARE, ANONYMOUS_ONLY_SHARE, BYSTANDER, CSAT_RESOLVED_CALL,
    CSAT_UNRESOLVED_CALL, DROP_OFF_STEP, FUNNEL_STEPS, MULTI_DEVICE_SHARE, NPS_BASELINE,
    NPS_UNRESOLVED_TICKET_PENALTY,
};
pub use docs::TruthDocs;
use tally::{ScoreSum, Tally};

#[derive(Debug, Clone, Serialize)]
pub struct PlantedTruths {
    pub docs: TruthDocs,
    pub run: RunParameters,
    pub channel_effects: ChannelEffects,
    pub funnel: FunnelTruth,
    pub identity: IdentityTruth,
    pub satisfaction: SatisfactionTruth,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunParameters {
    pub profiles: u64,
    pub days: u32,
    pub seed: u64,
    /// RFC 3339; messages fall in `[start, start + days)`.
    pub start: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChannelEffects {
    pub planted_baseline_conversion_probability: f64,
    pub bystander_channel: &'static str,
    pub realised_identified_profiles: u64,
    pub realised_converted_profiles: u64,
    pub channels: Vec<ChannelEffect>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChannelEffect {
    pub channel: &'static str,
    pub exposure_event: &'static str,
    pub planted: PlantedChannelEffect,
    pub realised: RealisedChannelEffect,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlantedChannelEffect {
    pub exposure_share: f64,
    pub conversion_rate_ratio: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RealisedChannelEffect {
    pub exposed_profiles: u64,
    pub exposed_converted: u64,
    pub unexposed_profiles: u64,
    pub unexposed_converted: u64,
    /// Conversion rate of the exposed over that of the unexposed.
    pub conversion_rate_ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunnelTruth {
    /// The step entered with the planted big drop-off, and the step before it.
    pub drop_off_from: &'static str,
    pub drop_off_to: &'static str,
    pub steps: Vec<FunnelStep>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunnelStep {
    pub event: &'static str,
    pub planted_rate_from_previous: Option<f64>,
    pub realised_profiles: u64,
    pub realised_rate_from_previous: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityTruth {
    pub planted_anonymous_only_share: f64,
    pub planted_multi_device_share_of_identified: f64,
    pub planted_alias_share_per_login: f64,
    pub realised_profiles: u64,
    pub realised_identified_profiles: u64,
    pub realised_anonymous_only_profiles: u64,
    pub realised_multi_device_profiles: u64,
    pub realised_multi_device_share_of_identified: Option<f64>,
    pub realised_profiles_with_alias: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SatisfactionTruth {
    pub nps_planted_baseline_mean: f64,
    pub nps_planted_open_ticket_penalty: u8,
    pub nps_with_open_ticket: ScoreGroup,
    pub nps_without_open_ticket: ScoreGroup,
    /// Mean without an open ticket minus mean with one.
    pub nps_realised_mean_difference: Option<f64>,
    pub csat_planted_mean_after_resolved_call: f64,
    pub csat_planted_mean_after_unresolved_call: f64,
    pub csat_after_resolved_call: ScoreGroup,
    pub csat_after_unresolved_call: ScoreGroup,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScoreGroup {
    pub responses: u64,
    pub score_sum: u64,
    pub mean_score: Option<f64>,
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

impl ScoreGroup {
    fn from_sum(sum: &ScoreSum) -> Self {
        ScoreGroup {
            responses: sum.responses,
            score_sum: sum.score_sum,
            mean_score: ratio(sum.score_sum, sum.responses),
        }
    }
}

impl PlantedTruths {
    pub(crate) fn new(cfg: &GeneratorConfig, tally: &Tally) -> Self {
        PlantedTruths {
            docs: TruthDocs::new(),
            run: RunParameters {
                profiles: cfg.profiles,
                days: cfg.days,
                seed: cfg.seed,
                start: cfg.start.to_string(),
            },
            channel_effects: channel_effects(tally),
            funnel: funnel(tally),
            identity: IdentityTruth {
                planted_anonymous_only_share: ANONYMOUS_ONLY_SHARE,
                planted_multi_device_share_of_identified: MULTI_DEVICE_SHARE,
                planted_alias_share_per_login: ALIAS_SHARE,
                realised_profiles: tally.profiles,
                realised_identified_profiles: tally.identified,
                realised_anonymous_only_profiles: tally.anonymous_only,
                realised_multi_device_profiles: tally.multi_device,
                realised_multi_device_share_of_identified: ratio(
                    tally.multi_device,
                    tally.identified,
                ),
                realised_profiles_with_alias: tally.with_alias,
            },
            satisfaction: satisfaction(tally),
        }
    }
}

fn channel_effects(tally: &Tally) -> ChannelEffects {
    let channels = Touch::ALL
        .iter()
        .map(|&touch| {
            let counts = tally.exposure[touch.index()];
            let exposed_rate = ratio(counts.exposed_converted, counts.exposed);
            let unexposed_rate = ratio(counts.unexposed_converted, counts.unexposed);
            ChannelEffect {
                channel: touch.channel(),
                exposure_event: touch.exposure_event(),
                planted: PlantedChannelEffect {
                    exposure_share: touch.exposure_share(),
                    conversion_rate_ratio: touch.conversion_rate_ratio(),
                },
                realised: RealisedChannelEffect {
                    exposed_profiles: counts.exposed,
                    exposed_converted: counts.exposed_converted,
                    unexposed_profiles: counts.unexposed,
                    unexposed_converted: counts.unexposed_converted,
                    conversion_rate_ratio: match (exposed_rate, unexposed_rate) {
                        (Some(e), Some(u)) if u > 0.0 => Some(e / u),
                        _ => None,
                    },
                },
            }
        })
        .collect();
    ChannelEffects {
        planted_baseline_conversion_probability: model::baseline_conversion_probability(),
        bystander_channel: BYSTANDER.channel(),
        realised_identified_profiles: tally.identified,
        realised_converted_profiles: tally.converted,
        channels,
    }
}

fn funnel(tally: &Tally) -> FunnelTruth {
    let steps = FUNNEL_STEPS
        .iter()
        .enumerate()
        .map(|(step, &event)| FunnelStep {
            event,
            planted_rate_from_previous: model::planted_step_rate(step),
            realised_profiles: tally.funnel[step],
            realised_rate_from_previous: step
                .checked_sub(1)
                .and_then(|previous| ratio(tally.funnel[step], tally.funnel[previous])),
        })
        .collect();
    FunnelTruth {
        drop_off_from: FUNNEL_STEPS[DROP_OFF_STEP - 1],
        drop_off_to: FUNNEL_STEPS[DROP_OFF_STEP],
        steps,
    }
}

fn satisfaction(tally: &Tally) -> SatisfactionTruth {
    let [without, with] = tally.nps;
    let nps_without = ScoreGroup::from_sum(&without);
    let nps_with = ScoreGroup::from_sum(&with);
    let difference = match (nps_without.mean_score, nps_with.mean_score) {
        (Some(a), Some(b)) => Some(a - b),
        _ => None,
    };
    SatisfactionTruth {
        nps_planted_baseline_mean: model::weighted_mean(&NPS_BASELINE),
        nps_planted_open_ticket_penalty: NPS_UNRESOLVED_TICKET_PENALTY,
        nps_with_open_ticket: nps_with,
        nps_without_open_ticket: nps_without,
        nps_realised_mean_difference: difference,
        csat_planted_mean_after_resolved_call: model::weighted_mean(&CSAT_RESOLVED_CALL),
        csat_planted_mean_after_unresolved_call: model::weighted_mean(&CSAT_UNRESOLVED_CALL),
        csat_after_resolved_call: ScoreGroup::from_sum(&tally.csat[1]),
        csat_after_unresolved_call: ScoreGroup::from_sum(&tally.csat[0]),
    }
}
