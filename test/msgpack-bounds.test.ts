import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeValue } from "../src/protocol/codec.ts";
import { frameOf, T, type Header } from "../src/protocol/messages.ts";
import { ANY_MESSAGE, readHeader } from "../src/protocol/read-header.ts";
import { msgpackBoundsProblem } from "../src/protocol/msgpack-bounds.ts";
import { ProtocolError } from "../src/index.ts";

// The scan that stands between a peer's header and msgpackr's native string extractor.
describe("msgpack bounds scan", () => {
  // JSON without "__proto__" keys: the codec refuses those on purpose (validate.ts), which is
  // not what this property is about (fast-check makes one now and then).
  const json = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"'));
  const headerValue = fc.oneof(json, fc.uint8Array({ maxLength: 70 }), fc.constant(undefined), fc.double(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }));

  it("passes everything our packers write: headers of any shape, and encoded values", () => {
    fc.assert(fc.property(fc.array(headerValue, { maxLength: 8 }), fc.string({ maxLength: 70_000 }), (fields, long) => {
      const [head] = frameOf([T.Heartbeat, ...fields, long] as unknown as Header);
      expect(msgpackBoundsProblem(head!)).toBeUndefined();
      expect(msgpackBoundsProblem(encodeValue({ fields: fields.filter((f) => typeof f !== "bigint"), long }, "v").body)).toBeUndefined();
    }), { numRuns: 300 });
  });

  it("flags lengths that overrun the buffer, however large, and truncated tokens", () => {
    for (const hex of [
      "920adbffffffff41", // str32 of 4 GiB: crashed msgpackr-extract (SIGSEGV)
      "920adb0000000241", "920ac6ffffffff", "920ac9ffffffff21", "920ac70521", "ddffffffff0a", "df7fffffff0a0a", "9f", "dc0001", "920adb00", "c1",
    ]) {
      expect(msgpackBoundsProblem(Buffer.from(hex, "hex")), hex).toBeDefined();
      expect(() => readHeader([Buffer.from(hex, "hex")], ANY_MESSAGE), hex).toThrow(ProtocolError);
    }
  });
});
