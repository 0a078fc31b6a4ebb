/**
 * The calls the widgets make: the public profile over REST (through Envoy, no
 * credentials) and the signed-in reads over gRPC-Web, straight to the server.
 */

import { decode, type Decoded, type SpecOf } from "./codec";
import type { StreakStatus } from "./gen/xentree/v1/streak_pb";
import type { LearningPulse, WeeklyActivity } from "./gen/xentree/v1/xp_pb";
import { learningPulseSpec, methods, streakStatusSpec, weeklyActivitySpec } from "./specs";

/** The public profile JSON of `GET /api/xp/public-profile/{username}`. */
export interface PublicProfile {
  username: string;
  display_name: string;
  total_xp: number;
  level: number;
  current_streak: number;
  longest_streak: number;
}

export type WeeklyActivityData = Decoded<WeeklyActivity>;
export type LearningPulseData = Decoded<LearningPulse>;
export type StreakStatusData = Decoded<StreakStatus>;

/** A failed call, with the gRPC status code (5 = NOT_FOUND, 16 = UNAUTHENTICATED, …). */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const NOT_FOUND = 5;
export const PERMISSION_DENIED = 7;
export const UNAUTHENTICATED = 16;
export const UNAVAILABLE = 14;

const httpToGrpc: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 503: 14 };

function trimSlash(base: string): string {
  return base.replace(/\/+$/, "");
}

/** Fetches a public profile; unknown and private users are both NOT_FOUND. */
export async function fetchPublicProfile(
  apiBase: string,
  username: string,
  signal?: AbortSignal,
): Promise<PublicProfile> {
  const url = `${trimSlash(apiBase)}/api/xp/public-profile/${encodeURIComponent(username)}`;
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: { accept: "application/json" } });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(UNAVAILABLE, `cannot reach ${url}`);
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { code?: number; message?: string } | null;
    const code = typeof body?.code === "number" ? body.code : (httpToGrpc[response.status] ?? 2);
    throw new ApiError(code, body?.message ?? `HTTP ${response.status}`);
  }
  return (await response.json()) as PublicProfile;
}

/** Parses `grpc-status`/`grpc-message` pairs from a trailer frame or response headers. */
function statusFrom(get: (name: string) => string | null): [number, string] | null {
  const status = get("grpc-status");
  if (status === null || status === "") return null;
  return [Number(status), decodeURIComponent(get("grpc-message") ?? "")];
}

function parseTrailers(bytes: Uint8Array): Map<string, string> {
  const trailers = new Map<string, string>();
  for (const line of new TextDecoder().decode(bytes).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return trailers;
}

/**
 * Makes a unary gRPC-Web call whose request message is empty (every read the
 * widgets need takes none) and decodes the reply with `spec`.
 */
export async function grpcWebUnary<T>(
  baseUrl: string,
  method: string,
  spec: SpecOf<T>,
  token: string | undefined,
  signal?: AbortSignal,
): Promise<Decoded<T>> {
  const headers: Record<string, string> = {
    "content-type": "application/grpc-web+proto",
    "x-grpc-web": "1",
    accept: "application/grpc-web+proto",
  };
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    // One frame: not compressed, length 0 (an empty message).
    response = await fetch(trimSlash(baseUrl) + method, {
      method: "POST",
      headers,
      body: new Uint8Array(5),
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(UNAVAILABLE, `cannot reach ${baseUrl}`);
  }
  if (!response.ok) throw new ApiError(httpToGrpc[response.status] ?? 2, `HTTP ${response.status}`);

  // A trailers-only reply (typical for errors) carries the status in the headers.
  const headerStatus = statusFrom((name) => response.headers.get(name));
  if (headerStatus && headerStatus[0] !== 0) throw new ApiError(headerStatus[0], headerStatus[1]);

  const body = new Uint8Array(await response.arrayBuffer());
  let message: Uint8Array | null = null;
  let trailerStatus: [number, string] | null = null;
  for (let offset = 0; offset + 5 <= body.length; ) {
    const flags = body[offset];
    const length = new DataView(body.buffer, body.byteOffset + offset + 1, 4).getUint32(0);
    const frame = body.subarray(offset + 5, offset + 5 + length);
    offset += 5 + length;
    if (flags & 0x80) {
      const trailers = parseTrailers(frame);
      trailerStatus = statusFrom((name) => trailers.get(name) ?? null);
    } else if (flags & 0x01) {
      throw new ApiError(12, "compressed replies are not supported");
    } else {
      message = frame;
    }
  }
  const [code, text] = trailerStatus ?? headerStatus ?? [2, "reply had no grpc-status"];
  if (code !== 0) throw new ApiError(code, text);
  return decode(spec, message ?? new Uint8Array(0));
}

export function fetchWeeklyActivity(base: string, token: string | undefined, signal?: AbortSignal) {
  return grpcWebUnary<WeeklyActivity>(base, methods.weeklyActivity, weeklyActivitySpec, token, signal);
}

export function fetchLearningPulse(base: string, token: string | undefined, signal?: AbortSignal) {
  return grpcWebUnary<LearningPulse>(base, methods.learningPulse, learningPulseSpec, token, signal);
}

export function fetchStreakStatus(base: string, token: string | undefined, signal?: AbortSignal) {
  return grpcWebUnary<StreakStatus>(base, methods.streakStatus, streakStatusSpec, token, signal);
}
