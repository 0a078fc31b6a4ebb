//! The streak state machine of the contract. Dates are local dates of the
//! user; the machine never looks at a clock or a time zone.
//!
//! Dates are decided ("settled") in order. Settling a date that was not a
//! learning day consumes a freeze while a streak is alive (the date becomes
//! freeze-covered) or, with none left, ends the streak. A learning day after
//! every settled date settles the dates before it and extends the streak.

use chrono::{Days, NaiveDate};

/// The most freezes a user can hold.
pub const MAX_FREEZES: i32 = 2;

/// A user's streak state as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreakState {
    /// Consecutive learning days (freeze-covered days keep it, add nothing).
    pub current: i32,
    /// The largest `current` ever held.
    pub longest: i32,
    /// The last date with credited XP.
    pub last_learning_date: Option<NaiveDate>,
    /// Every date up to this one is decided.
    pub settled_through: Option<NaiveDate>,
    /// Freezes held.
    pub freezes_available: i32,
    /// Freezes ever consumed.
    pub freezes_used: i32,
}

impl StreakState {
    /// Settles every date up to and including `through`; returns the dates a
    /// freeze covered.
    pub fn settle_through(&mut self, through: NaiveDate) -> Vec<NaiveDate> {
        let mut covered = Vec::new();
        let mut date = match self.settled_through {
            Some(settled) if settled >= through => return covered,
            Some(settled) => settled + Days::new(1),
            None => through,
        };
        // Every unsettled date is a missed day: a learning day settles itself.
        while date <= through && self.current > 0 {
            if self.freezes_available > 0 {
                self.freezes_available -= 1;
                self.freezes_used += 1;
                covered.push(date);
            } else {
                self.current = 0;
            }
            date = date + Days::new(1);
        }
        self.settled_through = Some(through);
        covered
    }

    /// Records credited XP on `date`; returns the dates a freeze covered on the way.
    pub fn record_learning(&mut self, date: NaiveDate) -> Vec<NaiveDate> {
        if self.settled_through.is_some_and(|settled| date <= settled) {
            return Vec::new();
        }
        let covered = match date.pred_opt() {
            Some(day_before) => self.settle_through(day_before),
            None => Vec::new(),
        };
        self.current += 1;
        self.longest = self.longest.max(self.current);
        self.last_learning_date = Some(date);
        self.settled_through = Some(date);
        covered
    }

    /// Adds a bought freeze, or tells why not.
    pub fn add_freeze(&mut self) -> Result<(), &'static str> {
        if self.freezes_available >= MAX_FREEZES {
            return Err("already holding the maximum of 2 freezes");
        }
        self.freezes_available += 1;
        Ok(())
    }

    /// Returns the state as it would be after settling up to the day before
    /// `today`, with the dates a freeze would cover: what a read shows.
    pub fn as_of(&self, today: NaiveDate) -> (StreakState, Vec<NaiveDate>) {
        let mut view = self.clone();
        let covered = today.pred_opt().map(|yesterday| view.settle_through(yesterday)).unwrap_or_default();
        (view, covered)
    }

    /// True when, after settlement up to yesterday, the streak ends unless the
    /// user learns today: alive, no learning today and no freeze to cover today.
    pub fn at_risk(&self, today: NaiveDate) -> bool {
        let (view, _) = self.as_of(today);
        view.current > 0 && view.last_learning_date != Some(today) && view.freezes_available == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn day(offset: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Days::new(offset)
    }

    #[test]
    /// Three days in a row make a streak of three.
    fn consecutive_days_extend_the_streak() {
        let mut state = StreakState::default();
        for offset in 0..3 {
            state.settle_through(day(offset).pred_opt().unwrap());
            state.record_learning(day(offset));
        }
        assert_eq!((state.current, state.longest, state.last_learning_date), (3, 3, Some(day(2))));
    }

    #[test]
    /// A second event on the same day adds no streak.
    fn same_day_counts_once() {
        let mut state = StreakState::default();
        state.record_learning(day(0));
        state.record_learning(day(0));
        assert_eq!(state.current, 1);
    }

    #[test]
    /// A missed day with a freeze is covered; the next with none ends the streak.
    fn freezes_cover_then_the_streak_breaks() {
        let mut state = StreakState { freezes_available: 1, ..StreakState::default() };
        state.record_learning(day(0));
        assert_eq!(state.record_learning(day(2)), vec![day(1)]);
        assert_eq!((state.current, state.freezes_available, state.freezes_used), (2, 0, 1));
        assert!(state.record_learning(day(4)).is_empty());
        assert_eq!((state.current, state.longest), (1, 2));
    }

    #[test]
    /// With no streak alive, missed days consume nothing.
    fn no_streak_consumes_no_freeze() {
        let mut state = StreakState { freezes_available: 2, ..StreakState::default() };
        state.settle_through(day(10));
        state.record_learning(day(12));
        assert_eq!((state.current, state.freezes_available), (1, 2));
    }

    #[test]
    /// Reads settle to yesterday without storing; at-risk follows the contract.
    fn read_view_and_risk() {
        let mut state = StreakState::default();
        state.record_learning(day(0));
        assert!(!state.at_risk(day(0)), "learned today");
        assert!(state.at_risk(day(1)), "nothing today, no freeze");
        assert_eq!(state.as_of(day(2)).0.current, 0, "yesterday missed without a freeze");
        state.freezes_available = 1;
        assert!(!state.at_risk(day(1)), "a freeze would cover today");
        let (view, covered) = state.as_of(day(2));
        assert_eq!((view.current, view.freezes_available, covered), (1, 0, vec![day(1)]));
        assert!(view.at_risk(day(2)));
    }

    /// A deliberately plain model: walk every calendar day from the first to
    /// the last, deciding each one.
    #[derive(Default)]
    struct Model {
        learning: BTreeSet<u64>,
        freezes: i32,
        used: i32,
        current: i32,
        longest: i32,
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Advance "today" by this many days, then learn today.
        Learn(u64),
        /// Advance "today" by this many days, then buy a freeze.
        Buy(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![3 => (0u64..4).prop_map(Op::Learn), 1 => (0u64..4).prop_map(Op::Buy)]
    }

    proptest! {
        #[test]
        /// The machine driven by writes agrees with walking every day.
        fn machine_matches_day_by_day_model(ops in proptest::collection::vec(op(), 1..40)) {
            let mut state = StreakState::default();
            let mut model = Model::default();
            let mut model_day = 0u64; // every day before this one is decided in the model
            let mut today = 1u64;
            for op in ops {
                let (advance, learn) = match op { Op::Learn(advance) => (advance, true), Op::Buy(advance) => (advance, false) };
                today += advance;
                // Model: decide each day before today in order.
                while model_day < today {
                    if model.learning.contains(&model_day) {
                        // decided when learned
                    } else if model.current > 0 {
                        if model.freezes > 0 { model.freezes -= 1; model.used += 1; } else { model.current = 0; }
                    }
                    model_day += 1;
                }
                // Machine: every write settles up to yesterday first.
                state.settle_through(day(today - 1));
                if learn {
                    if model.learning.insert(today) {
                        model.current += 1;
                        model.longest = model.longest.max(model.current);
                    }
                    // The model has decided today now.
                    model_day = today + 1;
                    state.record_learning(day(today));
                } else if model.freezes < MAX_FREEZES {
                    model.freezes += 1;
                    prop_assert!(state.add_freeze().is_ok());
                } else {
                    prop_assert!(state.add_freeze().is_err());
                }
                prop_assert_eq!(state.current, model.current);
                prop_assert_eq!(state.longest, model.longest);
                prop_assert_eq!(state.freezes_available, model.freezes);
                prop_assert_eq!(state.freezes_used, model.used);
            }
        }
    }
}
