/**
 * Wire tables for the messages the widgets decode. Each is typed against the
 * message generated from `proto/xentree/v1/*.proto` (`npm run generate`), so a
 * renamed, added or retyped field fails the type check; numbers are compared
 * with the generated descriptors in `test/codec.test.mjs`.
 */

import type { StreakStatus } from "./gen/xentree/v1/streak_pb";
import type { DayXp, LearningPulse, PulseDay, WeeklyActivity } from "./gen/xentree/v1/xp_pb";
import type { SpecOf } from "./codec";

export const dayXpSpec = {
  date: [1, "string"],
  xp: [2, "int32"],
} as const satisfies SpecOf<DayXp>;

export const weeklyActivitySpec = {
  weekStart: [1, "string"],
  weekEnd: [2, "string"],
  days: [3, { repeated: dayXpSpec }],
  totalXp: [4, "int32"],
  freezeCoveredDates: [5, "repeated string"],
} as const satisfies SpecOf<WeeklyActivity>;

export const pulseDaySpec = {
  date: [1, "string"],
  xpEarned: [2, "int32"],
  learningTime: [3, "int32"],
  sessions: [4, "int32"],
  quizzes: [5, "int32"],
  quizzesPassed: [6, "int32"],
  level: [7, "int32"],
} as const satisfies SpecOf<PulseDay>;

export const learningPulseSpec = {
  startDate: [1, "string"],
  endDate: [2, "string"],
  days: [3, { repeated: pulseDaySpec }],
  totalLearningTime: [4, "int32"],
  totalSessions: [5, "int32"],
  totalQuizzes: [6, "int32"],
  totalQuizzesPassed: [7, "int32"],
} as const satisfies SpecOf<LearningPulse>;

export const streakStatusSpec = {
  currentStreak: [1, "int32"],
  longestStreak: [2, "int32"],
  freezesAvailable: [3, "int32"],
  freezesUsed: [4, "int32"],
  lastActivity: [5, "string"],
  streakAtRisk: [6, "bool"],
  today: [7, "string"],
} as const satisfies SpecOf<StreakStatus>;

/** Full method paths, as gRPC-Web addresses them. */
export const methods = {
  weeklyActivity: "/xentree.v1.XpService/GetWeeklyActivity",
  learningPulse: "/xentree.v1.XpService/GetLearningPulse",
  streakStatus: "/xentree.v1.StreakService/GetStreakStatus",
} as const;
