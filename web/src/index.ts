/**
 * xentree widgets: importing this module defines the three custom elements.
 * Defining is skipped for a name already taken, so a page may load the
 * module twice (or two versions of it) without an exception.
 */

import { LearnerCard } from "./learner-card";
import { LearningHeatmap } from "./learning-heatmap";
import { WeeklyProgress } from "./weekly-progress";

export { ApiError } from "./api";
export type { LearningPulseData, PublicProfile, StreakStatusData, WeeklyActivityData } from "./api";
export type { WeeklyProgressData } from "./weekly-progress";
export { LearnerCard, LearningHeatmap, WeeklyProgress };

const elements: [string, CustomElementConstructor][] = [
  ["xentree-learner-card", LearnerCard],
  ["xentree-weekly-progress", WeeklyProgress],
  ["xentree-learning-heatmap", LearningHeatmap],
];
for (const [name, element] of elements) {
  if (!customElements.get(name)) customElements.define(name, element);
}

declare global {
  interface HTMLElementTagNameMap {
    "xentree-learner-card": LearnerCard;
    "xentree-weekly-progress": WeeklyProgress;
    "xentree-learning-heatmap": LearningHeatmap;
  }
}
