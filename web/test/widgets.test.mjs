// Renders the three widgets from fixture data in headless Chromium: no server
// needed. Error replies are simulated by intercepting the widgets' requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { join } from "node:path";
import * as fixtures from "./fixtures.mjs";
import {
  browserUnavailable,
  buildPackage,
  launchChromium,
  screenshot,
  serveStatic,
  settledState,
  webRoot,
} from "./support.mjs";

const unavailable = browserUnavailable();
if (unavailable) console.log(`# skipping the widget rendering tests: ${unavailable}`);

describe("widgets rendered from fixtures", { skip: unavailable ?? false }, () => {
  let server;
  let browser;
  let page;
  const pulse = fixtures.pulse();

  before(async () => {
    buildPackage();
    server = await serveStatic(join(webRoot, "dist"), {
      "/fixtures.html": join(webRoot, "test", "fixture-page.html"),
    });
    browser = await launchChromium();
    page = await browser.context.newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(error));
    // The not-found card and the signed-out widget call these made-up hosts.
    await page.route("http://api.test/**", (route) =>
      route.fulfill({
        status: 404,
        contentType: "application/json",
        headers: { "access-control-allow-origin": "*" },
        body: JSON.stringify({ code: 5, message: "no public profile for this username" }),
      }),
    );
    await page.route("http://grpc.test/**", (route) =>
      route.fulfill({
        status: 200,
        contentType: "application/grpc-web+proto",
        headers: {
          "access-control-allow-origin": "*",
          "access-control-expose-headers": "grpc-status, grpc-message",
          "grpc-status": "16",
          "grpc-message": "missing credentials",
        },
        body: "",
      }),
    );
    await page.goto(`${server.url}/fixtures.html`);
    await page.evaluate(
      ({ profile, weekly, pulse }) => {
        document.getElementById("card").data = profile;
        document.getElementById("weekly").data = weekly;
        document.getElementById("heatmap").data = pulse;
      },
      { profile: fixtures.profile, weekly: fixtures.weekly, pulse },
    );
    assert.deepEqual(errors, []);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("shows the card's name, level, XP and streaks", async () => {
    const card = page.locator("#card");
    assert.equal(await settledState(page, "#card"), "ready");
    assert.equal(await card.locator("[data-field=level]").textContent(), "Level 5");
    assert.equal(await card.locator("[data-field=total-xp]").textContent(), "1,234");
    assert.equal(await card.locator("[data-field=current-streak]").textContent(), "12");
    assert.equal(await card.locator("[data-field=longest-streak]").textContent(), "30");
    assert.match(await card.locator(".name").textContent(), /Ada Lovelace/);
    // 1234 XP at level 5 (1000) is 234 of the 500 to level 6 (1500).
    const progress = card.getByRole("progressbar");
    assert.equal(await progress.getAttribute("aria-valuenow"), "234");
    assert.equal(await progress.getAttribute("aria-valuemax"), "500");
    await screenshot(card, "fixture-learner-card");
  });

  it("shows a friendly message for a profile the API does not find", async () => {
    assert.equal(await settledState(page, "#missing"), "not-found");
    const text = await page.locator("#missing .status").textContent();
    assert.match(text, /No public profile for “nobody”/);
    await screenshot(page.locator("#missing"), "fixture-learner-card-not-found");
  });

  it("asks to sign in when the server rejects the credentials", async () => {
    assert.equal(await settledState(page, "#signed-out"), "unauthenticated");
    assert.match(await page.locator("#signed-out .status").textContent(), /Sign in to see your weekly progress/);
  });

  it("shows seven bars, Sunday first, with the freeze and today marked", async () => {
    const bars = page.locator("#weekly li[data-date]");
    assert.equal(await bars.count(), 7);
    const values = await bars.evaluateAll((items) =>
      items.map((item) => [item.dataset.date, Number(item.dataset.xp), item.dataset.freeze, item.dataset.today]),
    );
    assert.deepEqual(
      values,
      fixtures.weekly.activity.days.map((day) => [
        day.date,
        day.xp,
        String(day.date === "2026-06-08"),
        String(day.date === "2026-06-10"),
      ]),
    );
    const monday = page.locator('#weekly li[data-date="2026-06-08"]');
    assert.match(await monday.getAttribute("aria-label"), /Monday, June 8, 0 XP, streak kept by a freeze/);
    const today = page.locator('#weekly li[data-date="2026-06-10"]');
    assert.equal(await today.getAttribute("aria-current"), "date");
    assert.equal(await page.locator("#weekly [data-field=total-xp]").textContent(), "235 XP");
    await screenshot(page.locator("#weekly"), "fixture-weekly-progress");
  });

  it("moves focus between bars with the arrow keys, one tab stop in all", async () => {
    const focusable = await page.locator('#weekly li[tabindex="0"]').count();
    assert.equal(focusable, 1);
    await page.locator('#weekly li[data-date="2026-06-10"]').focus();
    await page.keyboard.press("ArrowRight");
    const focused = await page.evaluate(
      () => document.getElementById("weekly").shadowRoot.activeElement?.dataset.date,
    );
    assert.equal(focused, "2026-06-11");
  });

  it("draws 365 cells whose levels are the data's, in Sunday-first weeks", async () => {
    const cells = page.locator("#heatmap td[data-date]");
    assert.equal(await cells.count(), 365);
    const levels = await cells.evaluateAll((items) =>
      Object.fromEntries(items.map((item) => [item.dataset.date, Number(item.dataset.level)])),
    );
    assert.deepEqual(levels, Object.fromEntries(pulse.days.map((day) => [day.date, day.level])));
    // The first row holds only Sundays.
    const firstRow = await page
      .locator("#heatmap tbody tr")
      .first()
      .locator("td[data-date]")
      .evaluateAll((items) => items.map((item) => new Date(`${item.dataset.date}T00:00:00Z`).getUTCDay()));
    assert.ok(firstRow.length >= 52 && firstRow.every((weekday) => weekday === 0));
    const months = await page.locator("#heatmap thead th").allTextContents();
    assert.ok(months.filter(Boolean).length >= 11, `month labels: ${months}`);
  });

  it("describes each day in its tooltip and to assistive technology", async () => {
    const day = pulse.days.find((entry, index) => index > 100 && entry.quizzes === 2 && entry.level > 0);
    const cell = page.locator(`#heatmap td[data-date="${day.date}"]`);
    const title = await cell.getAttribute("title");
    assert.equal(await cell.getAttribute("aria-label"), title);
    assert.match(title, new RegExp(`${day.xpEarned} XP`));
    assert.match(title, /min learning/);
    assert.match(title, new RegExp(`${day.sessions} sessions?`));
    assert.match(title, /2 quizzes \(1 passed\)/);
    await cell.focus();
    assert.equal(await page.locator("#heatmap [data-field=details]").textContent(), title);
    await page.keyboard.press("ArrowLeft");
    const previousWeek = await page.evaluate(
      () => document.getElementById("heatmap").shadowRoot.activeElement?.dataset.date,
    );
    assert.equal(previousWeek, pulse.days[pulse.days.indexOf(day) - 7].date);
  });

  it("shows the period's totals", async () => {
    const heatmap = page.locator("#heatmap");
    assert.equal(
      await heatmap.locator("[data-field=total-sessions]").textContent(),
      pulse.totalSessions.toLocaleString("en-US"),
    );
    assert.equal(
      await heatmap.locator("[data-field=total-quizzes]").textContent(),
      pulse.totalQuizzes.toLocaleString("en-US"),
    );
    const xp = pulse.days.reduce((sum, day) => sum + day.xpEarned, 0);
    assert.equal(await heatmap.locator("[data-field=total-xp]").textContent(), xp.toLocaleString("en-US"));
    await page.locator("body").click({ position: { x: 5, y: 5 } });
    await screenshot(heatmap, "fixture-learning-heatmap");
  });

  it("keeps page styles out of the widgets and widget styles out of the page", async () => {
    const inside = await page.evaluate(() => {
      const root = document.getElementById("card").shadowRoot;
      return {
        color: getComputedStyle(root.querySelector(".handle")).color,
        panel: getComputedStyle(root.querySelector(".panel")).backgroundColor,
        font: getComputedStyle(root.querySelector(".panel")).fontFamily,
      };
    });
    assert.notEqual(inside.color, "rgb(255, 0, 0)");
    assert.notEqual(inside.panel, "rgb(255, 0, 0)");
    assert.doesNotMatch(inside.font, /^serif$/);
    const outsideWidth = await page.locator("#outside-sr").evaluate((element) => element.getBoundingClientRect().width);
    assert.ok(outsideWidth > 100, `page element with a widget class was restyled (width ${outsideWidth})`);
  });

  it("takes its colours from CSS custom properties set by the host", async () => {
    const background = await page.evaluate(() => {
      const card = document.getElementById("card");
      card.style.setProperty("--xentree-bg", "rgb(1, 2, 3)");
      return getComputedStyle(card.shadowRoot.querySelector(".panel")).backgroundColor;
    });
    assert.equal(background, "rgb(1, 2, 3)");
    await page.evaluate(() => document.getElementById("card").style.removeProperty("--xentree-bg"));
  });
});
