// Shared by the browser tests: building the package, serving dist/ on a
// local port, and starting Debian's Chromium through playwright-core.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

export const webRoot = fileURLToPath(new URL("..", import.meta.url));
export const repoRoot = join(webRoot, "..");
export const artifactsDir = process.env.XENTREE_ARTIFACTS_DIR ?? join(repoRoot, "test-artifacts");
export const chromiumPath = process.env.XENTREE_CHROMIUM ?? "/usr/bin/chromium";

let built = false;

/** Builds dist/ once per process, unless XENTREE_WIDGETS_SKIP_BUILD=1 says it is fresh. */
export function buildPackage() {
  if (built || process.env.XENTREE_WIDGETS_SKIP_BUILD === "1") return;
  execFileSync("npm", ["run", "--silent", "build"], { cwd: webRoot, stdio: ["ignore", "inherit", "inherit"] });
  built = true;
}

const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".css": "text/css",
};

/** Serves `dir` (and `extra` paths → file paths) on 127.0.0.1 at a free port. */
export async function serveStatic(dir, extra = {}) {
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, "http://localhost").pathname);
    const file = extra[path] ?? join(dir, normalize(path === "/" ? "/index.html" : path));
    if (!extra[path] && !file.startsWith(dir)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end("not found");
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/**
 * Starts headless Chromium with a fresh profile. The flags keep it off the
 * network (no update checks, sync or QUIC probes on a closed machine).
 */
export async function launchChromium() {
  const { chromium } = await import("playwright-core");
  const profile = await mkdtemp(join(tmpdir(), "xentree-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1200, height: 900 },
    deviceScaleFactor: 1,
    locale: "en-US",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Why the browser tests cannot run here, or null when they can. */
export function browserUnavailable() {
  return existsSync(chromiumPath) ? null : `${chromiumPath} is not installed (apt-get install chromium)`;
}

/** Saves a screenshot of `locator` as test-artifacts/<name>.png. */
export async function screenshot(locator, name) {
  await mkdir(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  await locator.screenshot({ path });
  return path;
}

/** Waits until the widget `selector` has left the loading state, and returns that state. */
export async function settledState(page, selector) {
  const handle = await page.waitForFunction(
    (target) => {
      const state = document.querySelector(target)?.dataset.state;
      return state && state !== "loading" ? state : null;
    },
    selector,
    { timeout: 30_000 },
  );
  return handle.jsonValue();
}
