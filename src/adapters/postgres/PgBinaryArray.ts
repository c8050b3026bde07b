/**
 * One-dimensional arrays in PostgreSQL's binary format (what `array_send` writes and `array_recv`
 * reads), for bound parameters: node-postgres sends a Buffer parameter as binary. The server then
 * reads each element as it is stored instead of parsing text, and the client writes no escaped
 * text: a bytea goes as its bytes rather than twice as many hex digits, a uuid as 16 bytes.
 *
 * The format: the number of dimensions, a has-nulls flag, the element type's oid, then per
 * dimension its length and lower bound (1), then each element as a 4-byte length (-1 for NULL) and
 * its bytes, all integers big-endian. The oid must be the one the statement's cast names
 * (`$1::bigint[]` takes int8 elements, `$1::uuid[]` uuid ones); the server refuses any other.
 */

const OID = { bytea: 17, int8: 20, int2: 21, int4: 23, text: 25, uuid: 2950 } as const

const HEADER = 20

/** `size` bytes for an array of `count` elements of `oid`, its header written; elements go from HEADER on. */
const start = (size: number, oid: number, count: number, hasNull: boolean): Buffer => {
  const buffer = Buffer.allocUnsafe(count === 0 ? 12 : size)
  buffer.writeInt32BE(count === 0 ? 0 : 1, 0)
  buffer.writeInt32BE(hasNull ? 1 : 0, 4)
  buffer.writeInt32BE(oid, 8)
  if (count > 0) {
    buffer.writeInt32BE(count, 12)
    buffer.writeInt32BE(1, 16)
  }
  return buffer
}

/** An array of fixed-width elements: each is its width as length, then what `write` puts at `at`. */
const fixed = (
  values: ReadonlyArray<number>,
  oid: number,
  width: number,
  write: (buffer: Buffer, value: number, at: number) => void
): Buffer => {
  const buffer = start(HEADER + values.length * (4 + width), oid, values.length, false)
  let offset = HEADER
  for (const value of values) {
    buffer.writeInt32BE(width, offset)
    write(buffer, value, offset + 4)
    offset += 4 + width
  }
  return buffer
}

const TWO_32 = 4_294_967_296

/** A `bigint[]` of safe integers (positions, epoch milliseconds). */
export const int8s = (values: ReadonlyArray<number>): Buffer =>
  fixed(values, OID.int8, 8, (buffer, value, at) => {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer for a bigint: ${value}`)
    buffer.writeInt32BE(Math.floor(value / TWO_32), at)
    buffer.writeUInt32BE(value >>> 0, at + 4)
  })

/** An `int[]`. */
export const int4s = (values: ReadonlyArray<number>): Buffer => fixed(values, OID.int4, 4, (buffer, value, at) => buffer.writeInt32BE(value, at))

/** A `smallint[]`. */
export const int2s = (values: ReadonlyArray<number>): Buffer => fixed(values, OID.int2, 2, (buffer, value, at) => buffer.writeInt16BE(value, at))

/** A `text[]`, its elements as UTF-8; a null is SQL NULL. */
export const texts = (values: ReadonlyArray<string | null>): Buffer => {
  // room for the worst case (3 bytes per UTF-16 unit); the array ends where the writing did
  let size = HEADER
  let hasNull = false
  for (const value of values) {
    size += 4
    if (value === null) hasNull = true
    else size += value.length * 3
  }
  const buffer = start(size, OID.text, values.length, hasNull)
  let offset = HEADER
  for (const value of values) {
    if (value === null) {
      buffer.writeInt32BE(-1, offset)
      offset += 4
    } else {
      const written = buffer.write(value, offset + 4, "utf8")
      buffer.writeInt32BE(written, offset)
      offset += 4 + written
    }
  }
  return values.length === 0 ? buffer : buffer.subarray(0, offset)
}

/** A `bytea[]`. */
export const byteas = (values: ReadonlyArray<Uint8Array>): Buffer => {
  let size = HEADER
  for (const value of values) size += 4 + value.byteLength
  const buffer = start(size, OID.bytea, values.length, false)
  let offset = HEADER
  for (const value of values) {
    buffer.writeInt32BE(value.byteLength, offset)
    buffer.set(value, offset + 4)
    offset += 4 + value.byteLength
  }
  return buffer
}

/** A `bytea[]` of bytes given as hex text (chain links), decoded straight into the array. */
export const hexByteas = (values: ReadonlyArray<string>): Buffer => {
  let size = HEADER
  for (const value of values) size += 4 + (value.length >>> 1)
  const buffer = start(size, OID.bytea, values.length, false)
  let offset = HEADER
  for (const value of values) {
    const written = buffer.write(value, offset + 4, "hex")
    if (written * 2 !== value.length) throw new RangeError(`not hex: ${value}`)
    buffer.writeInt32BE(written, offset)
    offset += 4 + written
  }
  return buffer
}

/** The value of each lowercase hex digit by char code, -1 for any other character. */
const NIBBLE = new Int8Array(128).fill(-1)
for (let i = 0; i < 16; i++) NIBBLE["0123456789abcdef".charCodeAt(i)] = i

/** Where the dashes of a canonical UUID are (8-4-4-4-12). */
const isDash = (i: number) => i === 8 || i === 13 || i === 18 || i === 23

/**
 * Writes the 16 bytes of `id` at `offset` if it is a UUID in canonical text (lowercase hex,
 * 8-4-4-4-12), the only form whose bytes give back the same string; false for any other string.
 */
const writeUuid = (buffer: Buffer, offset: number, id: string): boolean => {
  if (id.length !== 36) return false
  let at = offset
  for (let i = 0; i < 36; i += 2) {
    if (isDash(i)) {
      if (id.charCodeAt(i) !== 45) return false
      i -= 1
      continue
    }
    const high = NIBBLE[id.charCodeAt(i)] ?? -1
    const low = NIBBLE[id.charCodeAt(i + 1)] ?? -1
    if (high < 0 || low < 0) return false
    buffer[at++] = (high << 4) | low
  }
  return true
}

/**
 * A `uuid[]` of UUIDs in canonical text, a null as SQL NULL; undefined when one is in any other
 * form, which the caller then sends as text for the server to parse as it always has.
 */
export const uuids = (values: ReadonlyArray<string | null>): Buffer | undefined => {
  let hasNull = false
  for (const value of values) if (value === null) hasNull = true
  const buffer = start(HEADER + values.length * 20, OID.uuid, values.length, hasNull)
  let offset = HEADER
  for (const value of values) {
    if (value === null) {
      buffer.writeInt32BE(-1, offset)
      offset += 4
      continue
    }
    buffer.writeInt32BE(16, offset)
    if (!writeUuid(buffer, offset + 4, value)) return undefined
    offset += 20
  }
  return values.length === 0 ? buffer : buffer.subarray(0, offset)
}
