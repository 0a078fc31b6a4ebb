//! Levels: cumulative XP needed to reach level `L` is `T(L) = 50 · (L − 1) · L`.

/// Cumulative XP needed to reach `level` (level ≥ 1).
pub fn threshold(level: i64) -> i64 {
    50 * (level - 1) * level
}

/// Where a total stands on the level ladder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelProgress {
    /// The largest level whose threshold the total reaches.
    pub level: i64,
    /// XP earned since reaching `level`.
    pub xp_into_level: i64,
    /// XP still needed for the next level.
    pub xp_to_next_level: i64,
    /// The cumulative XP of the next level.
    pub next_level_xp: i64,
}

/// Places `total_xp` (≥ 0) on the ladder.
pub fn progress(total_xp: i64) -> LevelProgress {
    let total_xp = total_xp.max(0);
    // Solve 50·(L−1)·L ≤ xp for the largest L, then correct for float rounding.
    let estimate = ((1.0 + (1.0 + total_xp as f64 / 12.5).sqrt()) / 2.0).floor() as i64;
    let mut level = estimate.max(1);
    while threshold(level) > total_xp {
        level -= 1;
    }
    while threshold(level + 1) <= total_xp {
        level += 1;
    }
    let next_level_xp = threshold(level + 1);
    LevelProgress {
        level,
        xp_into_level: total_xp - threshold(level),
        xp_to_next_level: next_level_xp - total_xp,
        next_level_xp,
    }
}

/// The heatmap level of a day: 0 with no activity at all, otherwise
/// `max(1, ceil(4 · xp / M))` with `M` the window's largest day (1 when 0).
pub fn pulse_level(xp: i64, window_max_xp: i64, has_activity: bool) -> i32 {
    if !has_activity {
        return 0;
    }
    let max = window_max_xp.max(1);
    let level = (4 * xp.max(0) + max - 1) / max;
    level.clamp(1, 4) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    /// The thresholds and boundaries of the contract.
    fn contract_thresholds() {
        assert_eq!([1, 2, 3, 4, 5].map(threshold), [0, 100, 300, 600, 1000]);
        assert_eq!(
            progress(0),
            LevelProgress { level: 1, xp_into_level: 0, xp_to_next_level: 100, next_level_xp: 100 }
        );
        assert_eq!(progress(99).level, 1);
        assert_eq!(
            progress(100),
            LevelProgress { level: 2, xp_into_level: 0, xp_to_next_level: 200, next_level_xp: 300 }
        );
        assert_eq!(
            progress(999),
            LevelProgress { level: 4, xp_into_level: 399, xp_to_next_level: 1, next_level_xp: 1000 }
        );
        assert_eq!(progress(1000).level, 5);
    }

    #[test]
    /// Heatmap levels split the window's best day into quarters, rounding up.
    fn pulse_levels() {
        assert_eq!(pulse_level(0, 0, false), 0);
        assert_eq!(pulse_level(0, 0, true), 1, "a session-only day still shows");
        assert_eq!(pulse_level(0, 100, true), 1);
        assert_eq!(pulse_level(1, 100, true), 1);
        assert_eq!(pulse_level(25, 100, true), 1);
        assert_eq!(pulse_level(26, 100, true), 2);
        assert_eq!(pulse_level(50, 100, true), 2);
        assert_eq!(pulse_level(51, 100, true), 3);
        assert_eq!(pulse_level(75, 100, true), 3);
        assert_eq!(pulse_level(76, 100, true), 4);
        assert_eq!(pulse_level(100, 100, true), 4);
    }

    /// Counts levels up one at a time: obviously right, too slow for the service.
    fn level_by_counting(total_xp: i64) -> i64 {
        let mut level = 1;
        while threshold(level + 1) <= total_xp {
            level += 1;
        }
        level
    }

    proptest! {
        #[test]
        /// The closed form agrees with counting, and the parts add up.
        fn level_matches_counting(total_xp in 0i64..5_000_000) {
            let result = progress(total_xp);
            prop_assert_eq!(result.level, level_by_counting(total_xp));
            prop_assert!(threshold(result.level) <= total_xp && total_xp < result.next_level_xp);
            prop_assert_eq!(result.xp_into_level + threshold(result.level), total_xp);
            prop_assert_eq!(result.xp_to_next_level + total_xp, result.next_level_xp);
        }
    }
}
