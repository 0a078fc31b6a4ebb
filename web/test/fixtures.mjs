// Deterministic data in the shapes the widgets receive, for rendering tests
// that need no server. Levels follow the contract's rule.

const DAY_MS = 86_400_000;

function isoDate(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

export const profile = {
  username: "ada",
  display_name: "Ada Lovelace",
  total_xp: 1234,
  level: 5,
  current_streak: 12,
  longest_streak: 30,
};

/** The week of Wednesday 2026-06-10, Monday frozen. */
export const weekly = {
  activity: {
    weekStart: "2026-06-07",
    weekEnd: "2026-06-13",
    days: [
      { date: "2026-06-07", xp: 40 },
      { date: "2026-06-08", xp: 0 },
      { date: "2026-06-09", xp: 120 },
      { date: "2026-06-10", xp: 75 },
      { date: "2026-06-11", xp: 0 },
      { date: "2026-06-12", xp: 0 },
      { date: "2026-06-13", xp: 0 },
    ],
    totalXp: 235,
    freezeCoveredDates: ["2026-06-08"],
  },
  today: "2026-06-10",
  currentStreak: 4,
};

/** 365 days ending 2026-06-10 with a repeating, uneven pattern of activity. */
export function pulse() {
  const end = Date.UTC(2026, 5, 10);
  const days = [];
  for (let index = 0; index < 365; index++) {
    const date = isoDate(end - (364 - index) * DAY_MS);
    const active = index % 3 !== 0 && index % 11 !== 0;
    const xpEarned = active ? ((index * 37) % 200) + 10 : 0;
    const sessions = active ? (index % 4) + 1 : index % 11 === 0 ? 1 : 0;
    days.push({
      date,
      xpEarned,
      learningTime: sessions * 600 + (index % 7) * 60,
      sessions,
      quizzes: active ? index % 3 : 0,
      quizzesPassed: active ? Math.max(0, (index % 3) - 1) : 0,
      level: 0,
    });
  }
  const highest = Math.max(1, ...days.map((day) => day.xpEarned));
  for (const day of days) {
    const any = day.xpEarned > 0 || day.sessions > 0 || day.quizzes > 0;
    day.level = any ? Math.max(1, Math.ceil((4 * day.xpEarned) / highest)) : 0;
  }
  const sum = (field) => days.reduce((total, day) => total + day[field], 0);
  return {
    startDate: days[0].date,
    endDate: days[364].date,
    days,
    totalLearningTime: sum("learningTime"),
    totalSessions: sum("sessions"),
    totalQuizzes: sum("quizzes"),
    totalQuizzesPassed: sum("quizzesPassed"),
  };
}
