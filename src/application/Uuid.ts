/** A UUID in its canonical text form (RFC 9562: lowercase hex, 8-4-4-4-12), the form `uuidv7` mints. */
const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * True when `id` is a UUID in canonical text form, so its 16 bytes give back exactly the same
 * string. Any other string (uppercase, braces, a caller's own id) must be kept as text.
 */
export const isCanonicalUuid = (id: string): boolean => id.length === 36 && CANONICAL.test(id)

/** The 16 bytes of a canonical UUID (check `isCanonicalUuid` first). */
export const uuidToBytes = (id: string): Buffer => Buffer.from(id.replace(/-/g, ""), "hex")

const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1")
/** Where each byte's two hex digits go in the 36 characters of the canonical text. */
const DIGIT_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]
const DASH = "-".charCodeAt(0)

/** Writes the canonical text of the 16 UUID bytes at `offset` of `bytes` into `target` at `at`, as 36 latin1 bytes. */
export const writeUuidText = (bytes: Uint8Array, offset: number, target: Uint8Array, at: number): void => {
  if (offset < 0 || offset + 16 > bytes.length) throw new RangeError(`no 16 UUID bytes at ${offset} of ${bytes.length}`)
  for (let i = 0; i < 16; i++) {
    const b = bytes[offset + i]!
    target[at + DIGIT_AT[i]!] = HEX_DIGITS[b >> 4]!
    target[at + DIGIT_AT[i]! + 1] = HEX_DIGITS[b & 15]!
  }
  target[at + 8] = target[at + 13] = target[at + 18] = target[at + 23] = DASH
}

/** Writes `length` bytes at `offset` of `bytes` into `target` at `at` as lowercase hex, two latin1 bytes each. */
export const writeHex = (bytes: Uint8Array, offset: number, length: number, target: Uint8Array, at: number): void => {
  if (offset < 0 || offset + length > bytes.length) throw new RangeError(`no ${length} bytes at ${offset} of ${bytes.length}`)
  for (let i = 0; i < length; i++) {
    const b = bytes[offset + i]!
    target[at + 2 * i] = HEX_DIGITS[b >> 4]!
    target[at + 2 * i + 1] = HEX_DIGITS[b & 15]!
  }
}

const text = Buffer.alloc(36)

/**
 * The canonical text of the 16 UUID bytes at `offset` of `bytes`, as one flat string (written into
 * a scratch buffer and read back at once, where concatenating the pairs would build a rope that a
 * later hash or comparison must flatten).
 */
export const uuidAt = (bytes: Uint8Array, offset: number): string => {
  writeUuidText(bytes, offset, text, 0)
  return text.toString("latin1", 0, 36)
}

/** The canonical text of 16 UUID bytes. */
export const uuidFromBytes = (bytes: Uint8Array): string => {
  if (bytes.byteLength !== 16) throw new Error(`a UUID is 16 bytes, not ${bytes.byteLength}`)
  return uuidAt(bytes, 0)
}
