// MessagePack for the hub's frames (the liaison.v1.msgpack subprotocol).
//
// Only what frames hold: nil, booleans, numbers, strings, binary, arrays and
// maps with string keys. Integers up to 2^53 round-trip exactly; larger ones
// are refused (the hub never sends them). Ext types are refused, as the hub
// refuses them. Strings are UTF-8; a lone surrogate cannot be encoded and is
// refused rather than silently replaced.

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export class MsgpackError extends Error {}

// --- encoding ------------------------------------------------------------------

class Writer {
  constructor() {
    this.buf = new Uint8Array(256);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
  }
  room(n) {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  byte(b) { this.room(1); this.buf[this.pos++] = b; }
  head(code, n, bytes) {
    this.room(1 + bytes);
    this.buf[this.pos++] = code;
    if (bytes === 1) this.view.setUint8(this.pos, n);
    else if (bytes === 2) this.view.setUint16(this.pos, n);
    else if (bytes === 4) this.view.setUint32(this.pos, n);
    this.pos += bytes;
  }
  raw(bytes) { this.room(bytes.length); this.buf.set(bytes, this.pos); this.pos += bytes.length; }
}

function lengthHead(w, n, fix, fixMax, c8, c16, c32) {
  if (fix !== null && n <= fixMax) w.byte(fix | n);
  else if (c8 !== null && n < 0x100) w.head(c8, n, 1);
  else if (n < 0x10000) w.head(c16, n, 2);
  else w.head(c32, n, 4);
}

function encodeInt(w, n) {
  if (n >= 0) {
    if (n < 0x80) w.byte(n);
    else if (n < 0x100) w.head(0xcc, n, 1);
    else if (n < 0x10000) w.head(0xcd, n, 2);
    else if (n < 0x100000000) w.head(0xce, n, 4);
    else { w.room(9); w.buf[w.pos++] = 0xcf; w.view.setBigUint64(w.pos, BigInt(n)); w.pos += 8; }
  } else if (n >= -32) {
    w.byte(n & 0xff);
  } else if (n >= -0x80) {
    w.room(2); w.buf[w.pos++] = 0xd0; w.view.setInt8(w.pos, n); w.pos += 1;
  } else if (n >= -0x8000) {
    w.room(3); w.buf[w.pos++] = 0xd1; w.view.setInt16(w.pos, n); w.pos += 2;
  } else if (n >= -0x80000000) {
    w.room(5); w.buf[w.pos++] = 0xd2; w.view.setInt32(w.pos, n); w.pos += 4;
  } else {
    w.room(9); w.buf[w.pos++] = 0xd3; w.view.setBigInt64(w.pos, BigInt(n)); w.pos += 8;
  }
}

function encodeValue(w, v, depth) {
  if (depth > 64) throw new MsgpackError("nested too deeply");
  if (v === null || v === undefined) { w.byte(0xc0); return; }
  if (v === false) { w.byte(0xc2); return; }
  if (v === true) { w.byte(0xc3); return; }
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new MsgpackError("numbers must be finite");
    if (Number.isInteger(v) && Number.isSafeInteger(v)) { encodeInt(w, v); return; }
    w.room(9); w.buf[w.pos++] = 0xcb; w.view.setFloat64(w.pos, v); w.pos += 8;
    return;
  }
  if (typeof v === "string") {
    if (!isWellFormed(v)) throw new MsgpackError("text holds a lone surrogate");
    const bytes = encoder.encode(v);
    lengthHead(w, bytes.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
    w.raw(bytes);
    return;
  }
  if (v instanceof Uint8Array) {
    lengthHead(w, v.length, null, -1, 0xc4, 0xc5, 0xc6);
    w.raw(v);
    return;
  }
  if (Array.isArray(v)) {
    lengthHead(w, v.length, 0x90, 15, null, 0xdc, 0xdd);
    for (const item of v) encodeValue(w, item, depth + 1);
    return;
  }
  if (typeof v === "object") {
    const entries = Object.entries(v).filter(([, value]) => value !== undefined);
    lengthHead(w, entries.length, 0x80, 15, null, 0xde, 0xdf);
    for (const [key, value] of entries) {
      encodeValue(w, key, depth + 1);
      encodeValue(w, value, depth + 1);
    }
    return;
  }
  throw new MsgpackError(`cannot encode a ${typeof v}`);
}

function isWellFormed(s) {
  if (typeof s.isWellFormed === "function") return s.isWellFormed();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/** The MessagePack bytes of a value (as JSON.stringify would see it: undefined keys dropped). */
export function encode(value) {
  const w = new Writer();
  encodeValue(w, value, 0);
  return w.buf.slice(0, w.pos);
}

// --- decoding ------------------------------------------------------------------

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }
  need(n) {
    if (this.pos + n > this.bytes.length) throw new MsgpackError("truncated data");
  }
  u8() { this.need(1); return this.bytes[this.pos++]; }
  take(n) { this.need(n); const out = this.bytes.subarray(this.pos, this.pos + n); this.pos += n; return out; }
  num(kind, n) {
    this.need(n);
    const at = this.pos;
    this.pos += n;
    return this.view[kind](at);
  }
}

function big(value) {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new MsgpackError("integer beyond 2^53");
  }
  return Number(value);
}

function decodeValue(r, depth) {
  if (depth > 64) throw new MsgpackError("nested too deeply");
  const b = r.u8();
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  if ((b & 0xf0) === 0x80) return decodeMap(r, b & 0x0f, depth);
  if ((b & 0xf0) === 0x90) return decodeArray(r, b & 0x0f, depth);
  if ((b & 0xe0) === 0xa0) return text(r, b & 0x1f);
  switch (b) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return r.take(r.u8()).slice();
    case 0xc5: return r.take(r.num("getUint16", 2)).slice();
    case 0xc6: return r.take(r.num("getUint32", 4)).slice();
    case 0xca: return r.num("getFloat32", 4);
    case 0xcb: return r.num("getFloat64", 8);
    case 0xcc: return r.num("getUint8", 1);
    case 0xcd: return r.num("getUint16", 2);
    case 0xce: return r.num("getUint32", 4);
    case 0xcf: return big(r.num("getBigUint64", 8));
    case 0xd0: return r.num("getInt8", 1);
    case 0xd1: return r.num("getInt16", 2);
    case 0xd2: return r.num("getInt32", 4);
    case 0xd3: return big(r.num("getBigInt64", 8));
    case 0xd9: return text(r, r.u8());
    case 0xda: return text(r, r.num("getUint16", 2));
    case 0xdb: return text(r, r.num("getUint32", 4));
    case 0xdc: return decodeArray(r, r.num("getUint16", 2), depth);
    case 0xdd: return decodeArray(r, r.num("getUint32", 4), depth);
    case 0xde: return decodeMap(r, r.num("getUint16", 2), depth);
    case 0xdf: return decodeMap(r, r.num("getUint32", 4), depth);
    default: throw new MsgpackError(`unsupported type 0x${b.toString(16)}`);
  }
}

function text(r, n) {
  try {
    return decoder.decode(r.take(n));
  } catch (e) {
    if (e instanceof MsgpackError) throw e;
    throw new MsgpackError("text is not valid UTF-8");
  }
}

function decodeArray(r, n, depth) {
  r.need(n);  // every item takes at least one byte: refuse absurd lengths early
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = decodeValue(r, depth + 1);
  return out;
}

function decodeMap(r, n, depth) {
  r.need(2 * n);
  const out = {};
  for (let i = 0; i < n; i++) {
    const key = decodeValue(r, depth + 1);
    if (typeof key !== "string") throw new MsgpackError("map keys must be strings");
    const value = decodeValue(r, depth + 1);
    if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}

/** The value in MessagePack ``bytes`` (a Uint8Array or ArrayBuffer); throws MsgpackError. */
export function decode(bytes) {
  const r = new Reader(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  const value = decodeValue(r, 0);
  if (r.pos !== r.bytes.length) throw new MsgpackError("extra bytes after the value");
  return value;
}
