//! Marketing campaigns with their UTM fields, one pool per touch channel.

#[derive(Debug)]
pub(crate) struct Campaign {
    pub name: &'static str,
    pub source: &'static str,
    pub medium: &'static str,
    pub content: &'static str,
}

const fn campaign(
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
    campaign("weekly_picks", "newsletter", "email", "hero_banner"),
    campaign("spring_collection", "newsletter", "email", "grid_3"),
    campaign("loyalty_points", "crm", "email", "points_balance"),
    campaign("back_in_stock", "crm", "email", "product_card"),
    campaign("winter_sale", "newsletter", "email", "cta_button"),
];

pub(crate) static SMS_CAMPAIGNS: [Campaign; 3] = [
    campaign("flash_sale_48h", "sms", "sms", "short_link"),
    campaign("vip_preview", "sms", "sms", "short_link"),
    campaign("store_event", "sms", "sms", "short_link"),
];

pub(crate) static AD_CAMPAIGNS: [Campaign; 4] = [
    campaign("brand_search", "google", "cpc", "text_ad_1"),
    campaign("generic_shoes", "google", "cpc", "shopping_feed"),
    campaign("prospecting_video", "meta", "paid_social", "video_15s"),
    campaign("retargeting_carousel", "meta", "paid_social", "carousel"),
];

pub(crate) static SOCIAL_CAMPAIGNS: [Campaign; 4] = [
    campaign("behind_the_seams", "instagram", "social", "reel"),
    campaign("styling_tips", "instagram", "social", "story"),
    campaign("community_post", "facebook", "social", "post"),
    campaign("creator_collab", "tiktok", "social", "video"),
];
