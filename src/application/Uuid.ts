/** A UUID in its canonical text form (RFC 9562: lowercase hex, 8-4-4-4-12), the form `uuidv7` mints. */
const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * True when `id` is a UUID in canonical text form, so its 16 bytes give back exactly the same
 * string. Any other string (uppercase, braces, a caller's own id) must be kept as text.
 */
export const isCanonicalUuid = (id: string): boolean => id.length === 36 && CANONICAL.test(id)

/** The 16 bytes of a canonical UUID (check `isCanonicalUuid` first). */
export const uuidToBytes = (id: string): Buffer => Buffer.from(id.replace(/-/g, ""), "hex")

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/** The canonical text of 16 UUID bytes. */
export const uuidFromBytes = (bytes: Uint8Array): string => {
  if (bytes.byteLength !== 16) throw new Error(`a UUID is 16 bytes, not ${bytes.byteLength}`)
  let text = ""
  for (let i = 0; i < 16; i++) {
    text += HEX[bytes[i]!]
    if (i === 3 || i === 5 || i === 7 || i === 9) text += "-"
  }
  return text
}
