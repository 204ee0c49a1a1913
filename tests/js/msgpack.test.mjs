// web/msgpack.js, the client's codec, with node's built-in test runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encode, decode, MsgpackError } from "../../web/msgpack.js";

const values = [null, true, false, 0, 1, -1, 127, 128, -32, -33, 255, 256, 65535, 65536,
  2 ** 32 - 1, 2 ** 32, -(2 ** 31), -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER,
  0.5, -1.25, 1e300, "", "a", "é ✓ 🚒", "x".repeat(31), "x".repeat(32), "y".repeat(70000),
  [], [1, [2, [3]]], {}, { a: 1, b: [true, null], "ünï": { c: "d" } },
  Array.from({ length: 20 }, (_, i) => i), Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]))];

test("every value comes back as it went", () => {
  for (const v of values) assert.deepEqual(decode(encode(v)), v);
});

test("integers use their smallest form", () => {
  assert.deepEqual([...encode(5)], [0x05]);
  assert.deepEqual([...encode(-1)], [0xff]);
  assert.deepEqual([...encode(200)], [0xcc, 200]);
  assert.deepEqual([...encode("ab")], [0xa2, 0x61, 0x62]);
});

test("broken input is refused with the codec's own error", () => {
  for (const bytes of [[0xc1], [0xa5, 0x61], [0x92, 0x01], [0xdd, 0, 0, 0], [0xcb, 0, 0]]) {
    assert.throws(() => decode(new Uint8Array(bytes)), MsgpackError, String(bytes));
  }
});
