//! Deterministic identifiers derived from (seed, profile, salt).

/// SplitMix64's finaliser: a fast bijective mixer of 64 bits.
pub(crate) const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Salts keep the id families apart.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Salt {
    Rng = 1,
    Message = 2,
    Anonymous = 3,
    DeviceId = 4,
    Order = 5,
    Cart = 6,
    Call = 7,
    Ticket = 8,
    Email = 9,
    Sms = 10,
    Group = 11,
}

/// A 64-bit key for `n`-th item of a family within one profile.
pub(crate) fn key(seed: u64, profile: u64, salt: Salt, n: u64) -> u64 {
    let h = mix64(seed.wrapping_add(0x9E37_79B9_7F4A_7C15));
    let h = mix64(h ^ profile);
    mix64(h ^ ((salt as u64) << 56) ^ n)
}

/// Two keys as a UUID (version 8, RFC 9562 "custom"): unique in practice and
/// honest about not being random.
pub(crate) fn uuid(seed: u64, profile: u64, salt: Salt, n: u64) -> u128 {
    let hi = key(seed, profile, salt, n << 1);
    let lo = key(seed, profile, salt, (n << 1) | 1);
    let hi = (hi & !0xF000) | 0x8000;
    let lo = (lo & !(0b11 << 62)) | (0b10 << 62);
    (u128::from(hi) << 64) | u128::from(lo)
}

/// A per-seed bijection of the profile index, so user ids never collide
/// within one output yet do not reveal the profile order.
pub(crate) fn customer_number(seed: u64, profile: u64) -> u64 {
    let mut x = profile ^ mix64(seed);
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn customer_numbers_do_not_collide() {
        let numbers: HashSet<u64> = (0..100_000).map(|p| customer_number(7, p)).collect();
        assert_eq!(numbers.len(), 100_000);
    }

    #[test]
    fn uuid_has_version_8_and_rfc_variant() {
        let id = uuid(1, 2, Salt::Message, 3);
        assert_eq!((id >> 76) & 0xF, 8);
        assert_eq!((id >> 62) & 0b11, 0b10);
    }

    #[test]
    fn families_differ() {
        assert_ne!(key(1, 2, Salt::Order, 0), key(1, 2, Salt::Cart, 0));
        assert_ne!(key(1, 2, Salt::Order, 0), key(1, 3, Salt::Order, 0));
    }
}
