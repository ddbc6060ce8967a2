//! The shop's catalogue and its physical stores.

#[derive(Debug)]
pub(crate) struct Product {
    pub sku: &'static str,
    pub name: &'static str,
    pub category: &'static str,
    pub brand: &'static str,
    pub price_cents: u32,
}

const fn product(
    sku: &'static str,
    name: &'static str,
    category: &'static str,
    brand: &'static str,
    price_cents: u32,
) -> Product {
    Product {
        sku,
        name,
        category,
        brand,
        price_cents,
    }
}

pub(crate) static PRODUCTS: [Product; 24] = [
    product("SH-1001", "Trail Runner 3", "shoes", "Northline", 12_900),
    product("SH-1002", "City Loafer", "shoes", "Valle", 9_900),
    product("SH-1003", "Canvas Low Top", "shoes", "Terra", 5_900),
    product("SH-1004", "Leather Chelsea Boot", "shoes", "Valle", 18_900),
    product("SH-1005", "Summer Espadrille", "shoes", "Terra", 4_500),
    product(
        "JK-2001",
        "Packable Rain Jacket",
        "jackets",
        "Northline",
        8_900,
    ),
    product("JK-2002", "Wool Overcoat", "jackets", "Valle", 27_900),
    product("JK-2003", "Quilted Gilet", "jackets", "Terra", 7_500),
    product("JK-2004", "Denim Trucker", "jackets", "Terra", 6_900),
    product("BG-3001", "Weekender Duffel", "bags", "Valle", 15_900),
    product("BG-3002", "Everyday Tote", "bags", "Terra", 4_900),
    product("BG-3003", "Roll-top Backpack", "bags", "Northline", 9_500),
    product("BG-3004", "Leather Card Holder", "bags", "Valle", 3_500),
    product(
        "AC-4001",
        "Merino Beanie",
        "accessories",
        "Northline",
        2_900,
    ),
    product("AC-4002", "Silk Scarf", "accessories", "Valle", 6_500),
    product(
        "AC-4003",
        "Polarised Sunglasses",
        "accessories",
        "Terra",
        8_900,
    ),
    product(
        "AC-4004",
        "Everyday Socks 3-pack",
        "accessories",
        "Terra",
        1_900,
    ),
    product("AC-4005", "Leather Belt", "accessories", "Valle", 4_900),
    product("HM-5001", "Linen Throw", "home", "Terra", 7_900),
    product("HM-5002", "Stoneware Mug Set", "home", "Terra", 3_900),
    product("HM-5003", "Scented Candle", "home", "Valle", 2_400),
    product("HM-5004", "Waffle Bath Towel", "home", "Terra", 3_200),
    product("HM-5005", "Ceramic Vase", "home", "Valle", 5_500),
    product("HM-5006", "Wool Rug", "home", "Northline", 19_900),
];

/// Physical stores: (store id, city, country code).
pub(crate) static STORES: [(&str, &str, &str); 6] = [
    ("ST-MI01", "Milano", "IT"),
    ("ST-RM02", "Roma", "IT"),
    ("ST-LN03", "London", "GB"),
    ("ST-NY04", "New York", "US"),
    ("ST-BE05", "Berlin", "DE"),
    ("ST-PA06", "Paris", "FR"),
];

pub(crate) const CURRENCY: &str = "EUR";

/// Online orders at or above this subtotal ship for free.
pub(crate) const FREE_SHIPPING_FROM_CENTS: u64 = 5_000;
pub(crate) const SHIPPING_CENTS: u64 = 490;

pub(crate) static PAYMENT_METHODS: [&str; 4] = ["card", "paypal", "apple_pay", "klarna"];
