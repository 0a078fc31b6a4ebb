// Bundled by codec.test.mjs: compares the widgets' wire tables with the
// descriptors generated from the protos, and decodes messages encoded by the
// full protobuf runtime.
import { create, ScalarType, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { decode, type MessageSpec } from "../src/codec";
import { StreakService, StreakStatusSchema } from "../src/gen/xentree/v1/streak_pb";
import { LearningPulseSchema, WeeklyActivitySchema, XpService } from "../src/gen/xentree/v1/xp_pb";
import { learningPulseSpec, methods, streakStatusSpec, weeklyActivitySpec } from "../src/specs";

const scalarKinds: Partial<Record<ScalarType, string>> = {
  [ScalarType.STRING]: "string",
  [ScalarType.INT32]: "int32",
  [ScalarType.BOOL]: "bool",
};

/** Lists every difference between a table and a generated message descriptor. */
export function compare(spec: MessageSpec, schema: DescMessage, path = schema.typeName): string[] {
  const problems: string[] = [];
  const names = new Set(Object.keys(spec));
  for (const field of schema.fields) {
    const entry = spec[field.localName];
    names.delete(field.localName);
    if (!entry) {
      problems.push(`${path}.${field.localName}: missing from the table`);
      continue;
    }
    const [number, kind] = entry;
    if (number !== field.number) problems.push(`${path}.${field.localName}: number ${number}, proto says ${field.number}`);
    let expected: string;
    if (field.fieldKind === "scalar") expected = scalarKinds[field.scalar] ?? `scalar ${field.scalar}`;
    else if (field.fieldKind === "list" && field.listKind === "scalar") expected = `repeated ${scalarKinds[field.scalar] ?? field.scalar}`;
    else if (field.fieldKind === "list" && field.listKind === "message") {
      expected = "repeated message";
      if (typeof kind === "object") problems.push(...compare(kind.repeated, field.message, `${path}.${field.localName}`));
    } else expected = field.fieldKind;
    const actual = typeof kind === "object" ? "repeated message" : kind;
    if (actual !== expected) problems.push(`${path}.${field.localName}: kind ${actual}, proto says ${expected}`);
  }
  for (const name of names) problems.push(`${path}.${name}: not in the proto`);
  return problems;
}

export function tableProblems(): string[] {
  return [
    ...compare(weeklyActivitySpec, WeeklyActivitySchema),
    ...compare(learningPulseSpec, LearningPulseSchema),
    ...compare(streakStatusSpec, StreakStatusSchema),
  ];
}

export function methodPaths(): Record<string, string> {
  const path = (service: { typeName: string }, name: string) => `/${service.typeName}/${name}`;
  return {
    weeklyActivity: path(XpService, XpService.method.getWeeklyActivity.name),
    learningPulse: path(XpService, XpService.method.getLearningPulse.name),
    streakStatus: path(StreakService, StreakService.method.getStreakStatus.name),
  };
}

export const ourMethods = methods;

/** Encodes with the reference runtime, decodes with ours; both results for comparison. */
export function roundTrips(): { expected: unknown; actual: unknown }[] {
  const weekly = {
    weekStart: "2026-06-07",
    weekEnd: "2026-06-13",
    days: [
      { date: "2026-06-07", xp: 40 },
      { date: "2026-06-08", xp: 0 },
      { date: "2026-06-09", xp: 2_000_000_000 },
    ],
    totalXp: -5,
    freezeCoveredDates: ["2026-06-08", "2026-06-10"],
  };
  const pulse = {
    startDate: "2025-06-11",
    endDate: "2026-06-10",
    days: [{ date: "2026-06-10", xpEarned: 120, learningTime: 3600, sessions: 2, quizzes: 3, quizzesPassed: 1, level: 4 }],
    totalLearningTime: 3600,
    totalSessions: 2,
    totalQuizzes: 3,
    totalQuizzesPassed: 1,
  };
  const streak = {
    currentStreak: 3,
    longestStreak: 9,
    freezesAvailable: 1,
    freezesUsed: 2,
    lastActivity: "2026-06-09",
    streakAtRisk: true,
    today: "2026-06-10 ✓ ünïcode",
  };
  const empty = { currentStreak: 0, longestStreak: 0, freezesAvailable: 0, freezesUsed: 0, lastActivity: "", streakAtRisk: false, today: "" };
  return [
    { expected: weekly, actual: decode(weeklyActivitySpec, toBinary(WeeklyActivitySchema, create(WeeklyActivitySchema, weekly))) },
    { expected: pulse, actual: decode(learningPulseSpec, toBinary(LearningPulseSchema, create(LearningPulseSchema, pulse))) },
    { expected: streak, actual: decode(streakStatusSpec, toBinary(StreakStatusSchema, create(StreakStatusSchema, streak))) },
    { expected: empty, actual: decode(streakStatusSpec, new Uint8Array(0)) },
  ];
}
