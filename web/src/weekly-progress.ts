/**
 * `<xentree-weekly-progress grpc-web-base="…" token="…">`: the signed-in
 * learner's XP for each day of the current Sunday–Saturday week, with days a
 * streak freeze covered marked and today highlighted.
 */

import {
  fetchStreakStatus,
  fetchWeeklyActivity,
  type StreakStatusData,
  type WeeklyActivityData,
} from "./api";
import { countOf, escapeHtml, formatDate, formatNumber, localToday, rovingFocus, XentreeElement } from "./base";

/** What the widget shows: the week, plus the streak status that names "today". */
export interface WeeklyProgressData {
  activity: WeeklyActivityData;
  /** The learner's local date; when absent, the viewer's own date is used. */
  today?: string;
  currentStreak?: number;
}

export class WeeklyProgress extends XentreeElement<WeeklyProgressData> {
  static observedAttributes = ["grpc-web-base", "token", "locale"];

  protected label(): string {
    return "your weekly progress";
  }

  protected async load(signal: AbortSignal): Promise<WeeklyProgressData> {
    const base = this.getAttribute("grpc-web-base") ?? "";
    // The streak status carries the learner's own "today" (their time zone,
    // not the viewer's); without it the widget still works.
    const [activity, streak] = await Promise.all([
      fetchWeeklyActivity(base, this.token, signal),
      fetchStreakStatus(base, this.token, signal).catch((): StreakStatusData | null => null),
    ]);
    return { activity, today: streak?.today, currentStreak: streak?.currentStreak };
  }

  protected styles(): string {
    return `
.panel { max-width: var(--xentree-weekly-width, 420px); }
header { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; flex-wrap: wrap; }
.total { font-weight: 600; }
.range { font-size: 0.85em; }
ol {
  list-style: none; margin: 12px 0 0; padding: 0;
  display: grid; grid-template-columns: repeat(7, 1fr); gap: 6px;
}
li { display: flex; flex-direction: column; align-items: center; gap: 4px; border-radius: 8px; padding: 4px 0; }
.value { font-size: 0.8em; font-variant-numeric: tabular-nums; min-height: 1.4em; }
.column {
  position: relative; width: 100%; max-width: 32px;
  height: var(--xentree-bar-height, 110px);
  display: flex; align-items: flex-end;
  background: var(--_surface); border-radius: 6px;
}
.bar { width: 100%; border-radius: 6px; background: var(--_accent); min-height: 0; }
.bar.zero { height: 3px !important; background: var(--_border); }
li[data-freeze="true"] .bar {
  height: 100% !important; opacity: 0.9;
  background: repeating-linear-gradient(135deg, var(--_freeze) 0 5px, transparent 5px 10px);
  border: 1.5px solid var(--_freeze);
}
.day { font-size: 0.8em; color: var(--_muted); }
li[data-today="true"] { box-shadow: inset 0 0 0 2px var(--_today); }
li[data-today="true"] .day { color: var(--_today); font-weight: 700; }
.legend { display: flex; gap: 14px; flex-wrap: wrap; margin: 10px 0 0; font-size: 0.8em; color: var(--_muted); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; vertical-align: -1px; margin-right: 4px; }
.swatch.today { box-shadow: inset 0 0 0 2px var(--_today); }
.swatch.freeze {
  border: 1px solid var(--_freeze);
  background: repeating-linear-gradient(135deg, var(--_freeze) 0 2px, transparent 2px 4px);
}
`;
  }

  protected render(data: WeeklyProgressData): string {
    const locale = this.getAttribute("locale") ?? undefined;
    const { activity } = data;
    const today = data.today || localToday();
    const frozen = new Set(activity.freezeCoveredDates);
    const highest = Math.max(1, ...activity.days.map((day) => day.xp));
    const bars = activity.days
      .map((day) => {
        const isToday = day.date === today;
        const isFrozen = frozen.has(day.date);
        const weekday = formatDate(day.date, { weekday: "short" }, locale);
        const spoken = [
          formatDate(day.date, { weekday: "long", day: "numeric", month: "long" }, locale),
          `${formatNumber(day.xp, locale)} XP`,
          isToday ? "today" : "",
          isFrozen ? "streak kept by a freeze" : "",
        ]
          .filter(Boolean)
          .join(", ");
        const height = Math.round((day.xp / highest) * 100);
        return `<li data-date="${escapeHtml(day.date)}" data-xp="${day.xp}" data-freeze="${isFrozen}"
            data-today="${isToday}" aria-label="${escapeHtml(spoken)}" title="${escapeHtml(spoken)}"
            ${isToday ? 'aria-current="date"' : ""}>
          <span class="value" aria-hidden="true">${isFrozen ? "❄" : formatNumber(day.xp, locale)}</span>
          <span class="column" aria-hidden="true"><span class="bar${day.xp === 0 ? " zero" : ""}"
            style="height: ${height}%"></span></span>
          <span class="day" aria-hidden="true">${escapeHtml(isToday ? "Today" : weekday)}</span>
        </li>`;
      })
      .join("");
    const range = `${formatDate(activity.weekStart, { day: "numeric", month: "short" }, locale)} – ${formatDate(
      activity.weekEnd,
      { day: "numeric", month: "short" },
      locale,
    )}`;
    const streak =
      data.currentStreak !== undefined
        ? `<span>Current streak: <strong data-field="current-streak">${countOf(data.currentStreak, "day", "days", locale)}</strong></span>`
        : "";
    return `
<header>
  <h2 class="title">This week <span class="range muted">${escapeHtml(range)}</span></h2>
  <span class="total" data-field="total-xp">${formatNumber(activity.totalXp, locale)} XP</span>
</header>
<ol aria-label="XP per day, Sunday to Saturday">${bars}</ol>
<p class="legend">
  <span><span class="swatch today" aria-hidden="true"></span>Today</span>
  ${frozen.size > 0 ? `<span><span class="swatch freeze" aria-hidden="true"></span>❄ Streak freeze used</span>` : ""}
  ${streak}
</p>`;
  }

  protected afterRender(data: WeeklyProgressData): void {
    const list = this.root.querySelector("ol") as HTMLElement;
    const items = Array.from(list.querySelectorAll<HTMLElement>("li"));
    const today = data.today || localToday();
    const initial = Math.max(0, items.findIndex((item) => item.dataset.date === today));
    rovingFocus(list, items, (key, index, count) => {
      if (key === "ArrowLeft" || key === "ArrowUp") return index - 1;
      if (key === "ArrowRight" || key === "ArrowDown") return index + 1;
      if (key === "Home") return 0;
      if (key === "End") return count - 1;
      return null;
    }, initial);
  }
}
