/**
 * `<xentree-learner-card username="…" api-base="…">`: a learner's public
 * profile (level, XP, streaks) from the REST API, which needs no credentials,
 * so it can sit on any dashboard or LMS page.
 */

import { ApiError, fetchPublicProfile, NOT_FOUND, type PublicProfile } from "./api";
import { countOf, escapeHtml, formatNumber, XentreeElement } from "./base";

/** Cumulative XP needed to reach `level`: T(L) = 50 · (L − 1) · L, as the server computes it. */
export function xpForLevel(level: number): number {
  return 50 * (level - 1) * level;
}

export class LearnerCard extends XentreeElement<PublicProfile> {
  static observedAttributes = ["username", "api-base"];

  protected label(): string {
    const username = this.getAttribute("username");
    return username ? `learner card for ${username}` : "learner card";
  }

  protected notFoundMessage(): string {
    const username = this.getAttribute("username") ?? "";
    if (!username) return "No learner selected.";
    // Private and unknown profiles look the same on purpose (the API does not tell them apart).
    return `<strong>No public profile for “${escapeHtml(username)}”.</strong><br>
      The name may be misspelled, or the learner keeps their profile private.`;
  }

  protected load(signal: AbortSignal): Promise<PublicProfile> {
    const username = this.getAttribute("username") ?? "";
    // No api-base means the page's own origin serves the REST API.
    const apiBase = this.getAttribute("api-base") ?? "";
    if (!username) return Promise.reject(new ApiError(NOT_FOUND, "no username"));
    return fetchPublicProfile(apiBase, username, signal);
  }

  protected styles(): string {
    return `
.panel { max-width: var(--xentree-card-width, 340px); }
header { display: flex; align-items: center; gap: 12px; }
.avatar {
  flex: none; width: 44px; height: 44px; border-radius: 50%;
  display: grid; place-items: center; font-weight: 700; font-size: 1.2em;
  background: var(--_accent); color: var(--xentree-on-accent, #fff);
}
.who { min-width: 0; flex: 1; }
.name { margin: 0; font-size: 1.1em; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.handle { margin: 0; color: var(--_muted); font-size: 0.9em; }
.level {
  flex: none; padding: 2px 10px; border-radius: 999px; font-weight: 600; font-size: 0.9em;
  background: var(--_surface); border: 1px solid var(--_border);
}
.progress { margin: 14px 0 4px; }
.track { height: 8px; border-radius: 4px; background: var(--_level-0); overflow: hidden; }
.fill { height: 100%; background: var(--_accent); border-radius: 4px; }
.progress p { margin: 4px 0 0; font-size: 0.85em; color: var(--_muted); }
dl { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; margin: 12px 0 0; }
dl div { background: var(--_surface); border-radius: 8px; padding: 8px; text-align: center; }
dt { font-size: 0.78em; color: var(--_muted); }
dd { margin: 2px 0 0; font-size: 1.15em; font-weight: 600; }
`;
  }

  protected render(profile: PublicProfile): string {
    const name = profile.display_name || profile.username;
    const floor = xpForLevel(profile.level);
    const ceiling = xpForLevel(profile.level + 1);
    const into = Math.max(0, profile.total_xp - floor);
    const span = Math.max(1, ceiling - floor);
    const percent = Math.min(100, Math.round((into / span) * 100));
    return `
<header>
  <span class="avatar" aria-hidden="true">${escapeHtml(Array.from(name)[0]?.toUpperCase() ?? "?")}</span>
  <div class="who">
    <p class="name" part="name">${escapeHtml(name)}</p>
    <p class="handle">@${escapeHtml(profile.username)}</p>
  </div>
  <span class="level" part="level" data-field="level">Level ${escapeHtml(profile.level)}</span>
</header>
<div class="progress">
  <div class="track" role="progressbar" tabindex="0"
    aria-label="Progress to level ${profile.level + 1}"
    aria-valuemin="0" aria-valuemax="${span}" aria-valuenow="${into}"
    aria-valuetext="${formatNumber(into)} of ${formatNumber(span)} XP to level ${profile.level + 1}">
    <div class="fill" style="width: ${percent}%"></div>
  </div>
  <p>${formatNumber(ceiling - profile.total_xp)} XP to level ${profile.level + 1}</p>
</div>
<dl>
  <div><dt>Total XP</dt><dd data-field="total-xp">${formatNumber(profile.total_xp)}</dd></div>
  <div><dt>Current streak</dt><dd data-field="current-streak"
    aria-label="${countOf(profile.current_streak, "day")}">${formatNumber(profile.current_streak)}</dd></div>
  <div><dt>Longest streak</dt><dd data-field="longest-streak"
    aria-label="${countOf(profile.longest_streak, "day")}">${formatNumber(profile.longest_streak)}</dd></div>
</dl>`;
  }
}
