//! A minimal JSON writer into a byte buffer. Hand-written because
//! formatting is most of the generator's work: no intermediate values, no
//! per-field allocation, keys and values appended in place.

const HEX: &[u8; 16] = b"0123456789abcdef";

#[derive(Debug)]
pub(crate) struct Json<'a> {
    out: &'a mut Vec<u8>,
    /// Whether the next member or element needs a leading comma.
    comma: bool,
}

impl<'a> Json<'a> {
    /// Starts a top-level object.
    pub(crate) fn begin(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Json { out, comma: false }
    }

    /// Closes the top-level object and ends the line.
    pub(crate) fn finish(self) {
        self.out.extend_from_slice(b"}\n");
    }

    fn key(&mut self, key: &str) {
        if self.comma {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.comma = true;
    }

    pub(crate) fn begin_object(&mut self, key: &str) {
        self.key(key);
        self.out.push(b'{');
        self.comma = false;
    }

    pub(crate) fn end_object(&mut self) {
        self.out.push(b'}');
        self.comma = true;
    }

    pub(crate) fn begin_array(&mut self, key: &str) {
        self.key(key);
        self.out.push(b'[');
        self.comma = false;
    }

    pub(crate) fn end_array(&mut self) {
        self.out.push(b']');
        self.comma = true;
    }

    /// Starts an object element of the current array.
    pub(crate) fn begin_element(&mut self) {
        if self.comma {
            self.out.push(b',');
        }
        self.out.push(b'{');
        self.comma = false;
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        self.out.push(b'"');
        self.escaped(value);
        self.out.push(b'"');
    }

    /// A string value assembled from parts, e.g. a URL.
    pub(crate) fn str_parts(&mut self, key: &str, parts: &[&str]) {
        self.key(key);
        self.out.push(b'"');
        for part in parts {
            self.escaped(part);
        }
        self.out.push(b'"');
    }

    /// `"key":"<prefix><16 hex digits>"`.
    pub(crate) fn hex_id(&mut self, key: &str, prefix: &str, value: u64) {
        self.key(key);
        self.out.push(b'"');
        self.out.extend_from_slice(prefix.as_bytes());
        self.hex(value, 16);
        self.out.push(b'"');
    }

    pub(crate) fn uuid(&mut self, key: &str, id: u128) {
        self.key(key);
        self.out.push(b'"');
        let hi = (id >> 64) as u64;
        let lo = id as u64;
        self.hex(hi >> 32, 8);
        self.out.push(b'-');
        self.hex((hi >> 16) & 0xFFFF, 4);
        self.out.push(b'-');
        self.hex(hi & 0xFFFF, 4);
        self.out.push(b'-');
        self.hex(lo >> 48, 4);
        self.out.push(b'-');
        self.hex(lo & 0xFFFF_FFFF_FFFF, 12);
        self.out.push(b'"');
    }

    pub(crate) fn ipv4(&mut self, key: &str, ip: [u8; 4]) {
        self.key(key);
        self.out.push(b'"');
        for (i, octet) in ip.into_iter().enumerate() {
            if i > 0 {
                self.out.push(b'.');
            }
            self.decimal(u64::from(octet));
        }
        self.out.push(b'"');
    }

    pub(crate) fn u64(&mut self, key: &str, value: u64) {
        self.key(key);
        self.decimal(value);
    }

    pub(crate) fn bool(&mut self, key: &str, value: bool) {
        self.key(key);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// Cents as a decimal number with two places, e.g. `129.00`.
    pub(crate) fn money(&mut self, key: &str, cents: u64) {
        self.key(key);
        self.decimal(cents / 100);
        self.out.push(b'.');
        self.two_digits(cents % 100);
    }

    /// Unix milliseconds as ISO-8601 UTC with milliseconds.
    pub(crate) fn timestamp(&mut self, key: &str, unix_ms: i64) {
        self.key(key);
        let (days, ms_of_day) = (
            unix_ms.div_euclid(86_400_000),
            unix_ms.rem_euclid(86_400_000),
        );
        let (year, month, day) = civil_from_days(days);
        let ms = ms_of_day as u64;
        self.out.push(b'"');
        self.two_digits((year / 100) as u64);
        self.two_digits((year % 100) as u64);
        self.out.push(b'-');
        self.two_digits(u64::from(month));
        self.out.push(b'-');
        self.two_digits(u64::from(day));
        self.out.push(b'T');
        self.two_digits(ms / 3_600_000);
        self.out.push(b':');
        self.two_digits(ms / 60_000 % 60);
        self.out.push(b':');
        self.two_digits(ms / 1_000 % 60);
        self.out.push(b'.');
        let millis = ms % 1_000;
        self.out.push(b'0' + (millis / 100) as u8);
        self.two_digits(millis % 100);
        self.out.extend_from_slice(b"Z\"");
    }

    fn escaped(&mut self, value: &str) {
        let bytes = value.as_bytes();
        if !bytes.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20) {
            self.out.extend_from_slice(bytes);
            return;
        }
        for &b in bytes {
            match b {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b if b < 0x20 => {
                    self.out.extend_from_slice(b"\\u00");
                    self.out.push(HEX[usize::from(b >> 4)]);
                    self.out.push(HEX[usize::from(b & 0xF)]);
                }
                b => self.out.push(b),
            }
        }
    }

    fn hex(&mut self, value: u64, digits: u32) {
        for shift in (0..digits).rev() {
            self.out.push(HEX[((value >> (shift * 4)) & 0xF) as usize]);
        }
    }

    fn two_digits(&mut self, value: u64) {
        self.out.push(b'0' + (value / 10 % 10) as u8);
        self.out.push(b'0' + (value % 10) as u8);
    }

    fn decimal(&mut self, mut value: u64) {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&digits[start..]);
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(write: impl FnOnce(&mut Json<'_>)) -> String {
        let mut out = Vec::new();
        let mut json = Json::begin(&mut out);
        write(&mut json);
        json.finish();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn timestamps_match_jiff() {
        for ms in [
            0i64,
            1_767_225_600_123,
            1_709_164_800_000,
            4_102_444_799_999,
            951_782_400_001,
        ] {
            let text = render(|j| j.timestamp("t", ms));
            let expected = jiff::Timestamp::from_millisecond(ms)
                .unwrap()
                .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(text, format!("{{\"t\":\"{expected}\"}}\n"));
        }
    }

    #[test]
    fn output_is_valid_json_with_escapes() {
        let text = render(|j| {
            j.str("a", "quote \" slash \\ tab \t é");
            j.money("m", 12_905);
            j.money("z", 7);
            j.begin_array("xs");
            j.begin_element();
            j.u64("n", 0);
            j.end_object();
            j.begin_element();
            j.bool("b", false);
            j.end_object();
            j.end_array();
            j.uuid("id", u128::MAX);
        });
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["a"], "quote \" slash \\ tab \t é");
        assert_eq!(value["m"].as_f64(), Some(129.05));
        assert_eq!(value["z"].as_f64(), Some(0.07));
        assert_eq!(value["xs"][1]["b"], false);
        assert_eq!(value["id"], "ffffffff-ffff-ffff-ffff-ffffffffffff");
    }
}
