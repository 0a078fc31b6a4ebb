/**
 * What the three widgets share: a shadow root (so no style leaks in or out),
 * the themeable defaults, the loading / error states and re-fetching when an
 * attribute or the token changes.
 */

import { ApiError, NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED } from "./api";

/** The state a widget is in, mirrored on the host as `data-state` for styling and tests. */
export type WidgetState = "loading" | "ready" | "not-found" | "unauthenticated" | "error";

/**
 * Theme defaults. Every colour and size reads a `--xentree-*` custom property,
 * which inherits through the shadow boundary, so a host page themes the
 * widgets from its own stylesheet. The activity scale is a sequential blue
 * (ColorBrewer "Blues"), readable with every common colour-vision deficiency;
 * "today" uses orange, the hue most distinct from blue for all of them.
 */
export const baseStyles = `
:host {
  --_fg: var(--xentree-fg, #1f2328);
  --_muted: var(--xentree-muted, #57606a);
  --_bg: var(--xentree-bg, #ffffff);
  --_surface: var(--xentree-surface, #f6f8fa);
  --_border: var(--xentree-border, #d0d7de);
  --_accent: var(--xentree-accent, #2171b5);
  --_today: var(--xentree-today, #d95f02);
  --_freeze: var(--xentree-freeze, #6baed6);
  --_focus: var(--xentree-focus, #0b57d0);
  --_radius: var(--xentree-radius, 10px);
  --_level-0: var(--xentree-level-0, #ebedf0);
  --_level-1: var(--xentree-level-1, #c6dbef);
  --_level-2: var(--xentree-level-2, #6baed6);
  --_level-3: var(--xentree-level-3, #2171b5);
  --_level-4: var(--xentree-level-4, #08306b);
  display: block;
  box-sizing: border-box;
  font-family: var(--xentree-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: var(--xentree-font-size, 14px);
  line-height: 1.4;
  color: var(--_fg);
}
:host([hidden]) { display: none; }
*, *::before, *::after { box-sizing: inherit; }
.panel {
  background: var(--_bg);
  border: 1px solid var(--_border);
  border-radius: var(--_radius);
  padding: 16px;
}
.title { margin: 0; font-size: 1.05em; font-weight: 600; }
.muted { color: var(--_muted); }
.status { margin: 0; padding: 8px 0; color: var(--_muted); }
.status strong { color: var(--_fg); }
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
:focus-visible { outline: 2px solid var(--_focus); outline-offset: 2px; }
button {
  font: inherit; color: var(--_accent); background: none; cursor: pointer;
  border: 1px solid var(--_border); border-radius: 6px; padding: 2px 10px;
}
`;

/** Escapes text for HTML: names and messages come from users and servers. */
export function escapeHtml(text: string | number): string {
  return String(text).replace(
    /[&<>"']/g,
    (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char] as string,
  );
}

/** Formats a count with the page's grouping ("1,234"). */
export function formatNumber(value: number, locale?: string): string {
  return new Intl.NumberFormat(locale).format(value);
}

/** Formats seconds of learning as "1 h 5 min", "25 min" or "under 1 min". */
export function formatDuration(seconds: number): string {
  if (seconds <= 0) return "0 min";
  if (seconds < 60) return "under 1 min";
  const minutes = Math.round(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/** Parses "YYYY-MM-DD" as a calendar date (UTC midnight), never shifted by the viewer's zone. */
export function parseDate(date: string): Date {
  return new Date(`${date}T00:00:00Z`);
}

/** Formats a calendar date; the zone is UTC because `parseDate` made it so. */
export function formatDate(date: string, options: Intl.DateTimeFormatOptions, locale?: string): string {
  return new Intl.DateTimeFormat(locale, { ...options, timeZone: "UTC" }).format(parseDate(date));
}

/** The viewer's local date as "YYYY-MM-DD". */
export function localToday(): string {
  const now = new Date();
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** "1 session", "3 sessions". */
export function countOf(count: number, one: string, many = `${one}s`, locale?: string): string {
  return `${formatNumber(count, locale)} ${count === 1 ? one : many}`;
}

/**
 * Base of every widget: fetches when connected or when an observed attribute
 * changes, renders into its shadow root, and lets a host page hand over data
 * directly (the `data` property) instead of fetching.
 */
export abstract class XentreeElement<Data> extends HTMLElement {
  protected readonly root: ShadowRoot;
  private hostData: Data | undefined;
  private tokenProperty: string | undefined;
  private controller: AbortController | undefined;
  private scheduled = false;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
  }

  /** Styles specific to the widget, after the shared ones. */
  protected abstract styles(): string;
  /** Fetches the widget's data. */
  protected abstract load(signal: AbortSignal): Promise<Data>;
  /** Renders loaded data as HTML for the shadow root. */
  protected abstract render(data: Data): string;
  /** A label naming the widget, for its region and status messages. */
  protected abstract label(): string;
  /** Wires up behaviour on the freshly rendered content (keyboard, focus). */
  protected afterRender(_data: Data): void {}
  /** The friendly text for a NOT_FOUND reply. */
  protected notFoundMessage(): string {
    return "Nothing to show here yet.";
  }

  connectedCallback(): void {
    if (this.hostData !== undefined) this.show(this.hostData);
    else this.schedule();
  }

  disconnectedCallback(): void {
    this.controller?.abort();
  }

  attributeChangedCallback(_name: string, previous: string | null, next: string | null): void {
    if (previous !== next && this.isConnected && this.hostData === undefined) this.schedule();
  }

  /** The bearer token for signed-in reads: the property when set, else the `token` attribute. */
  get token(): string | undefined {
    return this.tokenProperty ?? this.getAttribute("token") ?? undefined;
  }

  /** Kept off the DOM on purpose, so the token never shows in the page's markup. */
  set token(value: string | undefined) {
    this.tokenProperty = value || undefined;
    if (this.isConnected && this.hostData === undefined) this.schedule();
  }

  /** Data supplied by the host page; when set, the widget renders it and fetches nothing. */
  get data(): Data | undefined {
    return this.hostData;
  }

  set data(value: Data | undefined) {
    this.hostData = value;
    this.controller?.abort();
    if (value === undefined) {
      if (this.isConnected) this.schedule();
    } else {
      this.show(value);
    }
  }

  /** Fetches again (the retry button calls this too). */
  refresh(): void {
    if (this.hostData === undefined) this.schedule();
  }

  /** Batches attribute changes made together into one fetch. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.fetchAndShow();
    });
  }

  private async fetchAndShow(): Promise<void> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.setState("loading", `<p class="status" role="status">Loading ${escapeHtml(this.label())}…</p>`);
    try {
      const data = await this.load(controller.signal);
      if (controller.signal.aborted) return;
      this.show(data);
    } catch (error) {
      if (controller.signal.aborted) return;
      this.showError(error);
    }
  }

  private show(data: Data): void {
    this.setState("ready", this.render(data));
    this.afterRender(data);
    this.dispatchEvent(new CustomEvent("xentree-load", { detail: data, bubbles: true, composed: true }));
  }

  private showError(error: unknown): void {
    const code = error instanceof ApiError ? error.code : -1;
    if (code === NOT_FOUND) {
      this.setState("not-found", `<p class="status" role="status">${this.notFoundMessage()}</p>`);
    } else if (code === UNAUTHENTICATED || code === PERMISSION_DENIED) {
      this.setState(
        "unauthenticated",
        `<p class="status" role="status">Sign in to see ${escapeHtml(this.label())}.</p>`,
      );
    } else {
      this.setState(
        "error",
        `<p class="status" role="alert">Couldn't load ${escapeHtml(this.label())}.
         <button type="button" part="retry" data-action="retry">Try again</button></p>`,
      );
      this.root.querySelector("[data-action=retry]")?.addEventListener("click", () => this.refresh());
    }
    this.dispatchEvent(new CustomEvent("xentree-error", { detail: error, bubbles: true, composed: true }));
  }

  private setState(state: WidgetState, body: string): void {
    this.dataset.state = state;
    this.root.innerHTML = `<style>${baseStyles}${this.styles()}</style>
      <section class="panel" part="panel" aria-label="${escapeHtml(this.label())}"
        aria-busy="${state === "loading"}">${body}</section>`;
  }
}

/**
 * Roving focus over `items`: one tab stop for the whole set, arrow keys move
 * within it. `step` maps a key to an index offset (or an absolute index).
 */
export function rovingFocus(
  container: HTMLElement,
  items: HTMLElement[],
  step: (key: string, index: number, count: number) => number | null,
  initial: number,
  onFocus?: (item: HTMLElement) => void,
): void {
  if (items.length === 0) return;
  items.forEach((item, index) => (item.tabIndex = index === initial ? 0 : -1));
  container.addEventListener("keydown", (event) => {
    const current = items.indexOf(event.target as HTMLElement);
    if (current < 0) return;
    const next = step(event.key, current, items.length);
    if (next === null) return;
    event.preventDefault();
    const clamped = Math.max(0, Math.min(items.length - 1, next));
    items[current].tabIndex = -1;
    items[clamped].tabIndex = 0;
    items[clamped].focus();
  });
  if (onFocus) {
    container.addEventListener("focusin", (event) => {
      const target = event.target as HTMLElement;
      if (items.includes(target)) onFocus(target);
    });
  }
}
