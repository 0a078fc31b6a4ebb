// Drives the demo page in headless Chromium against a real server and Envoy.
// tests/api/widgets.rs seeds a learner, starts both and runs this file with:
//   XENTREE_WIDGETS_API_BASE       Envoy's REST base, e.g. http://127.0.0.1:8080
//   XENTREE_WIDGETS_GRPC_WEB_BASE  the server's gRPC-Web base, e.g. http://127.0.0.1:50051
//   XENTREE_WIDGETS_TOKEN          a bearer token for the seeded learner
//   XENTREE_WIDGETS_EXPECTED       JSON: what the seeding produced (see widgets.rs)
// Without them the suite is skipped, unless XENTREE_WIDGETS_REQUIRED=1.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  browserUnavailable,
  buildPackage,
  launchChromium,
  screenshot,
  serveStatic,
  settledState,
  webRoot,
} from "./support.mjs";

const env = {
  api: process.env.XENTREE_WIDGETS_API_BASE,
  grpc: process.env.XENTREE_WIDGETS_GRPC_WEB_BASE,
  token: process.env.XENTREE_WIDGETS_TOKEN,
  expected: process.env.XENTREE_WIDGETS_EXPECTED,
};
const missing = Object.entries(env)
  .filter(([, value]) => !value)
  .map(([name]) => name);
const required = process.env.XENTREE_WIDGETS_REQUIRED === "1";
let skip = false;
if (missing.length > 0) skip = `no server to test against (missing ${missing.join(", ")}; run via tests/api/widgets.rs)`;
else if (browserUnavailable()) skip = browserUnavailable();
if (skip && required) throw new Error(`the end-to-end widget tests cannot run: ${skip}`);
if (skip) console.log(`# skipping the end-to-end widget tests: ${skip}`);

describe("demo page against the real server and Envoy", { skip }, () => {
  const expected = skip ? {} : JSON.parse(env.expected);
  let server;
  let browser;
  let page;
  const pageErrors = [];
  let privateMessage;

  /** The REST API's answer for the signed-in learner, read the same way any client would. */
  async function rest(path) {
    const response = await fetch(`${env.api}${path}`, { headers: { authorization: `Bearer ${env.token}` } });
    assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
    return response.json();
  }

  async function openDemo(username) {
    const query = new URLSearchParams({ user: username, api: env.api, grpc: env.grpc });
    await page.goto(`${server.url}/index.html?${query}#token=${encodeURIComponent(env.token)}`);
  }

  before(async () => {
    buildPackage();
    server = await serveStatic(join(webRoot, "dist"));
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await openDemo(expected.username);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("shows the seeded learner's level, XP and streaks on the card", async () => {
    assert.equal(await settledState(page, "#card"), "ready");
    const card = page.locator("#card");
    assert.equal(await card.locator("[data-field=level]").textContent(), `Level ${expected.level}`);
    assert.equal(
      await card.locator("[data-field=total-xp]").textContent(),
      expected.total_xp.toLocaleString("en-US"),
    );
    assert.equal(await card.locator("[data-field=current-streak]").textContent(), String(expected.current_streak));
    assert.equal(await card.locator("[data-field=longest-streak]").textContent(), String(expected.longest_streak));
    assert.equal(await card.locator(".name").textContent(), expected.display_name);
    await screenshot(card, "learner-card");
  });

  it("shows seven bars with the week's XP, the freeze-covered day and today", async () => {
    assert.equal(await settledState(page, "#weekly"), "ready");
    const bars = page.locator("#weekly li[data-date]");
    assert.equal(await bars.count(), 7);
    const shown = await bars.evaluateAll((items) =>
      items.map((item) => ({
        date: item.dataset.date,
        xp: Number(item.dataset.xp),
        freeze: item.dataset.freeze === "true",
        today: item.dataset.today === "true",
        label: item.getAttribute("aria-label"),
      })),
    );
    const week = expected.week;
    assert.deepEqual(
      shown.map(({ date, xp }) => [date, xp]),
      week.days,
    );
    assert.deepEqual(
      shown.filter((bar) => bar.freeze).map((bar) => bar.date),
      week.freeze_covered_dates,
    );
    assert.ok(week.freeze_covered_dates.length > 0, "the seeding should cover a day with a freeze");
    assert.deepEqual(
      shown.filter((bar) => bar.today).map((bar) => bar.date),
      [week.today],
    );
    for (const bar of shown.filter((entry) => entry.freeze)) assert.match(bar.label, /streak kept by a freeze/);
    assert.equal(await page.locator("#weekly [data-field=total-xp]").textContent(), `${week.total_xp} XP`);

    // The same as the REST API reports.
    const api = await rest("/api/xp/weekly-activity");
    assert.deepEqual(
      shown.map(({ date, xp }) => ({ date, xp })),
      api.days,
    );
    assert.deepEqual(api.freeze_covered_dates, week.freeze_covered_dates);
    await screenshot(page.locator("#weekly"), "weekly-progress");
  });

  it("shows 365 heatmap cells whose levels match the API", async () => {
    assert.equal(await settledState(page, "#heatmap"), "ready");
    const cells = page.locator("#heatmap td[data-date]");
    assert.equal(await cells.count(), 365);
    const shown = await cells.evaluateAll((items) =>
      Object.fromEntries(items.map((item) => [item.dataset.date, Number(item.dataset.level)])),
    );
    const pulse = await rest("/api/xp/learning-pulse");
    assert.equal(pulse.days.length, 365);
    assert.deepEqual(shown, Object.fromEntries(pulse.days.map((day) => [day.date, day.level])));
    assert.equal(
      pulse.days.filter((day) => day.level > 0).length,
      expected.active_days,
      "the seeded history should show in the pulse",
    );
    // Every level appears, so the screenshot shows the whole scale.
    assert.deepEqual([...new Set(Object.values(shown))].sort(), [0, 1, 2, 3, 4]);

    const busiest = pulse.days.reduce((best, day) => (day.xp_earned > best.xp_earned ? day : best));
    const title = await page.locator(`#heatmap td[data-date="${busiest.date}"]`).getAttribute("title");
    assert.match(title, new RegExp(`${busiest.xp_earned.toLocaleString("en-US")} XP`));
    assert.match(title, new RegExp(`${busiest.sessions} sessions?`));
    const heatmap = page.locator("#heatmap");
    assert.equal(
      await heatmap.locator("[data-field=total-sessions]").textContent(),
      pulse.total_sessions.toLocaleString("en-US"),
    );
    assert.equal(
      await heatmap.locator("[data-field=total-quizzes]").textContent(),
      pulse.total_quizzes.toLocaleString("en-US"),
    );
    await screenshot(heatmap, "learning-heatmap");
    await screenshot(page.locator("body"), "demo-page");
  });

  it("shows a friendly not-found message for a private profile", async () => {
    await openDemo(expected.private_username);
    assert.equal(await settledState(page, "#card"), "not-found");
    const message = await page.locator("#card .status").textContent();
    assert.match(message, new RegExp(`No public profile for “${expected.private_username}”`));
    privateMessage = message.replace(expected.private_username, "NAME");
    await screenshot(page.locator("#card"), "learner-card-private");
  });

  it("shows the same message for an unknown username", async () => {
    await openDemo("no-such-learner");
    assert.equal(await settledState(page, "#card"), "not-found");
    const message = await page.locator("#card .status").textContent();
    // Word for word the private profile's message: the page must not tell the two apart.
    assert.equal(message.replace("no-such-learner", "NAME"), privateMessage);
    await screenshot(page.locator("#card"), "learner-card-unknown");
  });

  it("raised no script errors", () => {
    assert.deepEqual(pageErrors, []);
  });
});
