/**
 * A minimal protobuf wire decoder for the few read-only messages the widgets
 * receive. The full protobuf runtime would be most of the bundle; these
 * messages hold only strings, int32s, bools and nested messages.
 *
 * The field tables are checked against the types generated from the server's
 * protos (see `specs.ts`), and `test/codec.test.mjs` compares their numbers and
 * kinds with the generated descriptors, so a proto change cannot drift silently.
 */

/** How one field is encoded; nested messages carry their own table. */
export type FieldKind =
  | "string"
  | "int32"
  | "bool"
  | "repeated string"
  | { readonly repeated: MessageSpec };

/** Field name → [field number, kind], keyed like the generated TS type. */
export type MessageSpec = { readonly [name: string]: readonly [number, FieldKind] };

/** Ties a table to the generated message type: every field listed, with a matching kind. */
export type SpecOf<T> = {
  readonly [K in keyof Omit<T, "$typeName" | "$unknown">]-?: readonly [number, KindOf<T[K]>];
};

type KindOf<V> = V extends string
  ? "string"
  : V extends number
    ? "int32"
    : V extends boolean
      ? "bool"
      : V extends readonly string[]
        ? "repeated string"
        : V extends readonly object[]
          ? { readonly repeated: MessageSpec }
          : never;

/** A decoded message: plain data, defaults filled in as proto3 prescribes. */
export type Decoded<T> = Omit<T, "$typeName" | "$unknown">;

const utf8 = new TextDecoder();

class Reader {
  private position = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.position >= this.bytes.length;
  }

  /** Reads a varint, keeping its low 32 bits (int32 negatives are sign-extended to 64). */
  varint(): number {
    let low = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.position >= this.bytes.length) throw new Error("truncated varint");
      const byte = this.bytes[this.position++];
      if (shift < 32) low |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return low | 0;
      if (shift > 63) throw new Error("varint too long");
    }
  }

  lengthDelimited(): Uint8Array {
    const length = this.varint() >>> 0;
    const end = this.position + length;
    if (end > this.bytes.length) throw new Error("truncated field");
    const slice = this.bytes.subarray(this.position, end);
    this.position = end;
    return slice;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.position += 8;
        return;
      case 2:
        this.lengthDelimited();
        return;
      case 5:
        this.position += 4;
        return;
      default:
        throw new Error(`unsupported wire type ${wireType}`);
    }
  }
}

function defaultFor(kind: FieldKind): unknown {
  if (typeof kind === "object" || kind === "repeated string") return [];
  if (kind === "string") return "";
  if (kind === "bool") return false;
  return 0;
}

function wireTypeOf(kind: FieldKind): number {
  return kind === "int32" || kind === "bool" ? 0 : 2;
}

/** Decodes `bytes` as the message described by `spec`. */
export function decode<T>(spec: SpecOf<T>, bytes: Uint8Array): Decoded<T> {
  const table = spec as unknown as MessageSpec;
  const byNumber = new Map<number, [string, FieldKind]>();
  const result: Record<string, unknown> = {};
  for (const [name, [number, kind]] of Object.entries(table)) {
    byNumber.set(number, [name, kind]);
    result[name] = defaultFor(kind);
  }
  const reader = new Reader(bytes);
  while (!reader.done) {
    const tag = reader.varint() >>> 0;
    const field = byNumber.get(tag >>> 3);
    const wireType = tag & 7;
    // Unknown fields (a newer server) and unexpected encodings are skipped.
    if (!field || wireType !== wireTypeOf(field[1])) {
      reader.skip(wireType);
      continue;
    }
    const [name, kind] = field;
    if (typeof kind === "object") {
      (result[name] as unknown[]).push(decode(kind.repeated as SpecOf<unknown>, reader.lengthDelimited()));
    } else if (kind === "repeated string") {
      (result[name] as string[]).push(utf8.decode(reader.lengthDelimited()));
    } else if (kind === "string") {
      result[name] = utf8.decode(reader.lengthDelimited());
    } else if (kind === "bool") {
      result[name] = reader.varint() !== 0;
    } else {
      result[name] = reader.varint();
    }
  }
  return result as Decoded<T>;
}
