/**
 * `<xentree-learning-heatmap grpc-web-base="…" token="…">`: the learner's
 * last 365 days as a calendar heatmap (a column per week, Sunday on top),
 * with the server's activity levels 0–4, month labels, per-day details and
 * the year's totals.
 */

import { fetchLearningPulse, type LearningPulseData } from "./api";
import { countOf, escapeHtml, formatDate, formatDuration, formatNumber, parseDate, rovingFocus, XentreeElement } from "./base";

type PulseDayData = LearningPulseData["days"][number];

const DAY_MS = 86_400_000;
const LEVEL_NAMES = ["no activity", "light", "moderate", "high", "very high"];

/** The text of a day's tooltip and accessible name. */
export function describeDay(day: PulseDayData, locale?: string): string {
  const date = formatDate(day.date, { weekday: "short", day: "numeric", month: "short", year: "numeric" }, locale);
  if (day.level === 0) return `${date}: no activity`;
  const quizzes =
    day.quizzes > 0
      ? `${countOf(day.quizzes, "quiz", "quizzes", locale)} (${formatNumber(day.quizzesPassed, locale)} passed)`
      : "0 quizzes";
  return `${date}: ${formatNumber(day.xpEarned, locale)} XP, ${formatDuration(day.learningTime)} learning, ${countOf(
    day.sessions,
    "session",
    "sessions",
    locale,
  )}, ${quizzes}`;
}

export class LearningHeatmap extends XentreeElement<LearningPulseData> {
  static observedAttributes = ["grpc-web-base", "token", "locale"];

  protected label(): string {
    return "your learning activity";
  }

  protected load(signal: AbortSignal): Promise<LearningPulseData> {
    return fetchLearningPulse(this.getAttribute("grpc-web-base") ?? "", this.token, signal);
  }

  protected styles(): string {
    return `
:host { display: inline-block; max-width: 100%; }
.panel { --_cell: var(--xentree-cell-size, 11px); --_gap: var(--xentree-cell-gap, 3px); display: inline-block; max-width: 100%; }
header { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; flex-wrap: wrap; }
.scroll { overflow-x: auto; margin-top: 10px; }
table { border-collapse: separate; border-spacing: var(--_gap); margin: calc(-1 * var(--_gap)); }
th { font-weight: normal; font-size: 0.72em; color: var(--_muted); padding: 0; text-align: left; white-space: nowrap; }
thead th { height: 1.2em; vertical-align: bottom; }
tbody th { padding-right: 4px; line-height: 1; }
td { width: var(--_cell); height: var(--_cell); padding: 0; border-radius: 2px; }
td[data-level] { outline: 1px solid rgba(27, 31, 36, 0.06); outline-offset: -1px; }
td[data-level="0"] { background: var(--_level-0); }
td[data-level="1"] { background: var(--_level-1); }
td[data-level="2"] { background: var(--_level-2); }
td[data-level="3"] { background: var(--_level-3); }
td[data-level="4"] { background: var(--_level-4); }
td[data-level]:focus-visible { outline: 2px solid var(--_focus); outline-offset: 1px; }
.details { min-height: 1.4em; margin: 8px 0 0; font-size: 0.85em; }
footer { display: flex; justify-content: space-between; align-items: center; gap: 12px; flex-wrap: wrap; margin-top: 8px; }
.totals { margin: 0; padding: 0; list-style: none; display: flex; gap: 14px; flex-wrap: wrap; font-size: 0.85em; }
.totals strong { font-variant-numeric: tabular-nums; }
.legend { display: flex; align-items: center; gap: 3px; font-size: 0.75em; color: var(--_muted); }
.legend span[data-level] { width: var(--_cell); height: var(--_cell); border-radius: 2px; display: inline-block; }
.legend span[data-level="0"] { background: var(--_level-0); }
.legend span[data-level="1"] { background: var(--_level-1); }
.legend span[data-level="2"] { background: var(--_level-2); }
.legend span[data-level="3"] { background: var(--_level-3); }
.legend span[data-level="4"] { background: var(--_level-4); }
`;
  }

  protected render(pulse: LearningPulseData): string {
    const locale = this.getAttribute("locale") ?? undefined;
    const days = pulse.days;
    if (days.length === 0) return `<p class="status">No activity yet.</p>`;
    // Pad the first column back to its Sunday, so every row is one weekday.
    const lead = parseDate(days[0].date).getUTCDay();
    const weeks = Math.ceil((lead + days.length) / 7);
    const cellAt = (week: number, weekday: number): PulseDayData | undefined => days[week * 7 + weekday - lead];

    // A month's label sits over the first week whose Sunday falls in it,
    // spanning the weeks up to the next month; too narrow a run stays blank.
    const monthRuns: { label: string; span: number }[] = [];
    for (let week = 0; week < weeks; week++) {
      const first = cellAt(week, 0) ?? cellAt(week, lead);
      const label = first ? formatDate(first.date, { month: "short" }, locale) : "";
      const previous = monthRuns[monthRuns.length - 1];
      if (previous && previous.label === label) previous.span++;
      else monthRuns.push({ label, span: 1 });
    }
    const monthHeader = monthRuns
      .map((run) => `<th scope="colgroup" colspan="${run.span}">${run.span >= 2 ? escapeHtml(run.label) : ""}</th>`)
      .join("");

    const rows: string[] = [];
    for (let weekday = 0; weekday < 7; weekday++) {
      // Any Sunday-based date gives the weekday's name: 2023-01-01 was a Sunday.
      const sample = new Date(Date.UTC(2023, 0, 1) + weekday * DAY_MS).toISOString().slice(0, 10);
      const longName = formatDate(sample, { weekday: "long" }, locale);
      const shortName = formatDate(sample, { weekday: "short" }, locale);
      const visible = weekday % 2 === 1;
      const header = `<th scope="row">${visible ? `<span aria-hidden="true">${escapeHtml(shortName)}</span>` : ""}<span class="sr-only">${escapeHtml(longName)}</span></th>`;
      const cells: string[] = [];
      for (let week = 0; week < weeks; week++) {
        const day = cellAt(week, weekday);
        if (!day) {
          cells.push(`<td aria-hidden="true"></td>`);
          continue;
        }
        const text = escapeHtml(describeDay(day, locale));
        cells.push(
          `<td data-date="${escapeHtml(day.date)}" data-level="${day.level}" title="${text}" aria-label="${text}"></td>`,
        );
      }
      rows.push(`<tr>${header}${cells.join("")}</tr>`);
    }

    const totalXp = days.reduce((sum, day) => sum + day.xpEarned, 0);
    const activeDays = days.filter((day) => day.level > 0).length;
    const legend = LEVEL_NAMES.map(
      (name, level) => `<span data-level="${level}" role="img" aria-label="Level ${level}: ${name}" title="${name}"></span>`,
    ).join("");
    return `
<header>
  <h2 class="title">Learning activity</h2>
  <span class="muted range">${escapeHtml(formatDate(pulse.startDate, { day: "numeric", month: "short", year: "numeric" }, locale))}
    – ${escapeHtml(formatDate(pulse.endDate, { day: "numeric", month: "short", year: "numeric" }, locale))}</span>
</header>
<div class="scroll">
  <table role="grid" aria-label="Learning activity per day, ${countOf(activeDays, "active day", "active days", locale)} in the last ${days.length} days">
    <thead><tr><td></td>${monthHeader}</tr></thead>
    <tbody>${rows.join("")}</tbody>
  </table>
</div>
<p class="details muted" aria-live="polite" data-field="details">Select a day for details.</p>
<footer>
  <ul class="totals" aria-label="Totals for the period">
    <li><strong data-field="total-xp">${formatNumber(totalXp, locale)}</strong> XP</li>
    <li><strong data-field="total-learning-time">${formatDuration(pulse.totalLearningTime)}</strong> learning</li>
    <li><strong data-field="total-sessions">${formatNumber(pulse.totalSessions, locale)}</strong> ${pulse.totalSessions === 1 ? "session" : "sessions"}</li>
    <li><strong data-field="total-quizzes">${formatNumber(pulse.totalQuizzes, locale)}</strong> ${pulse.totalQuizzes === 1 ? "quiz" : "quizzes"}
      (<span data-field="total-quizzes-passed">${formatNumber(pulse.totalQuizzesPassed, locale)}</span> passed)</li>
  </ul>
  <div class="legend" aria-label="Activity levels">Less ${legend} More</div>
</footer>`;
  }

  protected afterRender(pulse: LearningPulseData): void {
    const table = this.root.querySelector("table");
    const details = this.root.querySelector<HTMLElement>("[data-field=details]");
    if (!table || !details) return;
    // Cells in date order, so arrow keys step by a day (up/down) or a week (left/right).
    const cells = Array.from(table.querySelectorAll<HTMLElement>("td[data-date]")).sort((a, b) =>
      (a.dataset.date as string).localeCompare(b.dataset.date as string),
    );
    const show = (cell: HTMLElement) => {
      details.textContent = cell.getAttribute("aria-label");
    };
    for (const cell of cells) {
      cell.setAttribute("role", "gridcell");
      cell.addEventListener("mouseenter", () => show(cell));
    }
    rovingFocus(
      table,
      cells,
      (key, index, count) => {
        if (key === "ArrowUp") return index - 1;
        if (key === "ArrowDown") return index + 1;
        if (key === "ArrowLeft") return index - 7;
        if (key === "ArrowRight") return index + 7;
        if (key === "Home") return 0;
        if (key === "End") return count - 1;
        return null;
      },
      pulse.days.length - 1,
      show,
    );
  }
}
