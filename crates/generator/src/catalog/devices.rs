//! Browsers and phones people use.

/// A web browser on some operating system.
#[derive(Debug)]
pub(crate) struct Browser {
    /// The OS is in here; analytics.js sends no separate `context.os`.
    pub user_agent: &'static str,
}

/// A phone running the shop's native app.
#[derive(Debug)]
pub(crate) struct Phone {
    pub manufacturer: &'static str,
    pub model: &'static str,
    pub os_name: &'static str,
    pub os_version: &'static str,
    /// Segment's `context.device.type`.
    pub device_type: &'static str,
}

pub(crate) static DESKTOP_BROWSERS: [Browser; 4] = [
    Browser {
        user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    },
    Browser {
        user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    },
    Browser {
        user_agent: "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    },
    Browser {
        user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    },
];

pub(crate) static MOBILE_BROWSERS: [Browser; 2] = [
    Browser {
        user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    },
    Browser {
        user_agent: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    },
];

pub(crate) static PHONES: [Phone; 4] = [
    Phone {
        manufacturer: "Apple",
        model: "iPhone15,2",
        os_name: "iOS",
        os_version: "17.4.1",
        device_type: "ios",
    },
    Phone {
        manufacturer: "Apple",
        model: "iPhone14,5",
        os_name: "iOS",
        os_version: "16.7.2",
        device_type: "ios",
    },
    Phone {
        manufacturer: "samsung",
        model: "SM-S911B",
        os_name: "Android",
        os_version: "14",
        device_type: "android",
    },
    Phone {
        manufacturer: "Google",
        model: "Pixel 7a",
        os_name: "Android",
        os_version: "14",
        device_type: "android",
    },
];

pub(crate) const APP_NAME: &str = "Percorso Shop";
pub(crate) const APP_VERSION: &str = "4.12.0";
