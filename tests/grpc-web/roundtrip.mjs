// A gRPC-Web round trip made by a real client library (Connect's gRPC-Web
// transport over fetch, HTTP/1.1), with the services loaded at run time from
// the descriptor set that build.rs writes: no generated code to keep in sync.
//
//   node roundtrip.mjs <server url> <user token> <descriptor set path>
//
// Prints one JSON object: the streak status read with the token, and the
// errors for a call without credentials and one with a forged token.
import { readFileSync } from "node:fs";
import { createFileRegistry, createRegistry, fromBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";

const [url, token, descriptorPath] = process.argv.slice(2);
if (!url || !token || !descriptorPath) {
  console.error("usage: node roundtrip.mjs <server url> <user token> <descriptor set path>");
  process.exit(2);
}

const files = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptorPath)));
const streakService = files.getService("xentree.v1.StreakService");
if (!streakService) {
  console.error("xentree.v1.StreakService is not in the descriptor set");
  process.exit(2);
}
const method = streakService.methods.find((candidate) => candidate.name === "GetStreakStatus");
const transport = createGrpcWebTransport({ baseUrl: url, useBinaryFormat: true });
const client = createClient(streakService, transport);

// Prints zeros and false too, with the proto field names, so the Rust side
// can compare whole objects.
const jsonOptions = { alwaysEmitImplicit: true, useProtoFieldName: true, registry: createRegistry(files) };

async function call(headers) {
  try {
    const response = await client.getStreakStatus({}, { headers, timeoutMs: 10_000 });
    return { ok: toJson(method.output, response, jsonOptions) };
  } catch (error) {
    const connectError = ConnectError.from(error);
    return { error: { code: Code[connectError.code], message: connectError.rawMessage } };
  }
}

const result = {
  with_token: await call({ authorization: `Bearer ${token}` }),
  without_credentials: await call({}),
  forged_token: await call({ authorization: "Bearer not.a.jwt" }),
};
console.log(JSON.stringify(result));
