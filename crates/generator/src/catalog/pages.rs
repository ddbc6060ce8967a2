//! Pages of the web shop and the matching screens of the app.

pub(crate) const SHOP_ORIGIN: &str = "https://shop.example.com";

/// A place in the shop; web renders it as a `page`, the app as a `screen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Page {
    Home,
    Category,
    Product,
    Search,
    Cart,
    Checkout,
    Account,
    Help,
    Stores,
}

impl Page {
    /// Segment `name` of the page or screen.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Page::Home => "Home",
            Page::Category => "Category",
            Page::Product => "Product Detail",
            Page::Search => "Search Results",
            Page::Cart => "Cart",
            Page::Checkout => "Checkout",
            Page::Account => "Account",
            Page::Help => "Help Centre",
            Page::Stores => "Store Finder",
        }
    }

    /// Path prefix; product and category pages append a slug.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Page::Home => "/",
            Page::Category => "/c/",
            Page::Product => "/p/",
            Page::Search => "/search",
            Page::Cart => "/cart",
            Page::Checkout => "/checkout",
            Page::Account => "/account",
            Page::Help => "/help",
            Page::Stores => "/stores",
        }
    }

    /// Pages a browsing session wanders through, with relative weights.
    pub(crate) const BROWSING: [(Page, u32); 6] = [
        (Page::Home, 6),
        (Page::Category, 8),
        (Page::Product, 12),
        (Page::Search, 3),
        (Page::Help, 1),
        (Page::Stores, 1),
    ];
}
