//! What to generate.

use std::num::NonZeroUsize;

/// 2026-01-01T00:00:00Z, the default first day.
const DEFAULT_START_UNIX_SECONDS: i64 = 1_767_225_600;

/// Parameters of one generated dataset. Output depends on `profiles`,
/// `days`, `seed` and `start` only; `threads` changes speed, never bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// Number of people simulated.
    pub profiles: u64,
    /// Length of the window; activity scales with it.
    pub days: u32,
    pub seed: u64,
    /// Start of the first day; every timestamp is in `[start, start + days)`.
    pub start: jiff::Timestamp,
    /// Worker threads (at least one is used).
    pub threads: usize,
}

impl GeneratorConfig {
    /// Starts on 2026-01-01T00:00:00Z and uses every available core.
    pub fn new(profiles: u64, days: u32, seed: u64) -> Self {
        GeneratorConfig {
            profiles,
            days,
            seed,
            start: jiff::Timestamp::from_second(DEFAULT_START_UNIX_SECONDS)
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            threads: std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_start_is_new_year_2026() {
        let cfg = GeneratorConfig::new(1, 1, 1);
        assert_eq!(cfg.start.to_string(), "2026-01-01T00:00:00Z");
        assert!(cfg.threads >= 1);
    }
}
