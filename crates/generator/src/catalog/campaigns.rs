//! Marketing campaigns with their UTM fields, one pool per touch channel.

use crate::model::Touch;

#[derive(Debug)]
pub(crate) struct Campaign {
    pub name: &'static str,
    pub source: &'static str,
    pub medium: &'static str,
    pub content: &'static str,
}

const fn utm(
    name: &'static str,
    source: &'static str,
    medium: &'static str,
    content: &'static str,
) -> Campaign {
    Campaign {
        name,
        source,
        medium,
        content,
    }
}

pub(crate) static EMAIL_CAMPAIGNS: [Campaign; 5] = [
    utm("weekly_picks", "newsletter", "email", "hero_banner"),
    utm("spring_collection", "newsletter", "email", "grid_3"),
    utm("loyalty_points", "crm", "email", "points_balance"),
    utm("back_in_stock", "crm", "email", "product_card"),
    utm("winter_sale", "newsletter", "email", "cta_button"),
];

pub(crate) static SMS_CAMPAIGNS: [Campaign; 3] = [
    utm("flash_sale_48h", "sms", "sms", "short_link"),
    utm("vip_preview", "sms", "sms", "short_link"),
    utm("store_event", "sms", "sms", "short_link"),
];

pub(crate) static AD_CAMPAIGNS: [Campaign; 4] = [
    utm("brand_search", "google", "cpc", "text_ad_1"),
    utm("generic_shoes", "google", "cpc", "shopping_feed"),
    utm("prospecting_video", "meta", "paid_social", "video_15s"),
    utm("retargeting_carousel", "meta", "paid_social", "carousel"),
];

pub(crate) static SOCIAL_CAMPAIGNS: [Campaign; 4] = [
    utm("behind_the_seams", "instagram", "social", "reel"),
    utm("styling_tips", "instagram", "social", "story"),
    utm("community_post", "facebook", "social", "post"),
    utm("creator_collab", "tiktok", "social", "video"),
];

/// The campaign a `CampaignRef` points at.
pub(crate) fn campaign(touch: Touch, index: u8) -> &'static Campaign {
    let pool: &'static [Campaign] = match touch {
        Touch::Email => &EMAIL_CAMPAIGNS,
        Touch::Sms => &SMS_CAMPAIGNS,
        Touch::Ads => &AD_CAMPAIGNS,
        Touch::Social => &SOCIAL_CAMPAIGNS,
    };
    &pool[usize::from(index) % pool.len()]
}

/// Where a visitor arriving from a campaign's source was before.
pub(crate) fn referrer_of(source: &str) -> &'static str {
    match source {
        "google" => "https://www.google.com/",
        "meta" | "facebook" => "https://l.facebook.com/",
        "instagram" => "https://l.instagram.com/",
        "tiktok" => "https://www.tiktok.com/",
        _ => "",
    }
}
