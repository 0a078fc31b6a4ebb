// The widgets decode protobuf with small hand-kept tables instead of the full
// runtime; these tests hold the tables to the generated descriptors and check
// decoding against the reference encoder.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { buildPackage, webRoot } from "./support.mjs";

describe("wire tables", () => {
  let check;
  let scratch;

  before(async () => {
    buildPackage();
    scratch = await mkdtemp(join(tmpdir(), "xentree-codec-"));
    const outfile = join(scratch, "codec-check.mjs");
    await build({
      entryPoints: [join(webRoot, "test", "codec-check.ts")],
      outfile,
      bundle: true,
      format: "esm",
      platform: "node",
      logLevel: "warning",
    });
    check = await import(pathToFileURL(outfile).href);
  });

  after(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("match the field numbers and kinds of the generated descriptors", () => {
    assert.deepEqual(check.tableProblems(), []);
  });

  it("call the methods the services define", () => {
    assert.deepEqual({ ...check.ourMethods }, check.methodPaths());
  });

  it("decode what the reference runtime encodes, defaults included", () => {
    for (const { expected, actual } of check.roundTrips()) assert.deepEqual(actual, expected);
  });
});
