// Bundles src/ into one ES module, dist/xentree-widgets.js, and copies the
// demo page beside it. Run by `npm run build` after code generation and the
// type check.
import { copyFile, mkdir, rm, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = `${root}dist`;

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await build({
  entryPoints: [`${root}src/index.ts`],
  outfile: `${dist}/xentree-widgets.js`,
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
});
await copyFile(`${root}demo/index.html`, `${dist}/index.html`);
const { size } = await stat(`${dist}/xentree-widgets.js`);
console.log(`dist/xentree-widgets.js: ${(size / 1024).toFixed(1)} KiB`);
