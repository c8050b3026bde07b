import { hash } from "node:crypto"
import type { NewEvent } from "./ports/EventStore.js"

/** The link before the first event. */
export const GENESIS = "0".repeat(64)

/** What a link covers: the stored event as committed, without its own hash. */
export interface Linkable extends NewEvent {
  readonly aggregateId: string
  readonly version: number
  readonly position: number
}

/** Reused by every framing: a frame is hashed before the next one is written. */
let scratch = Buffer.allocUnsafe(4096)

/** Writes `size` as 4 big-endian bytes at `offset`. */
const writeLength = (size: number, offset: number) => {
  scratch[offset] = size >>> 24
  scratch[offset + 1] = (size >>> 16) & 0xff
  scratch[offset + 2] = (size >>> 8) & 0xff
  scratch[offset + 3] = size & 0xff
}

/**
 * Writes `text` as UTF-8 at `offset` and gives its byte length. Ids, types and numbers are ASCII,
 * whose UTF-8 is one byte a character: copied in a loop, cheaper than a call into the encoder for
 * strings this short. The first character that is not ASCII hands the whole string to the encoder.
 */
const writeText = (text: string, offset: number): number => {
  const length = text.length
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i)
    if (code > 0x7f) return scratch.write(text, offset, "utf8")
    scratch[offset + i] = code
  }
  return length
}

/**
 * Each field as a 4-byte big-endian length and its bytes, in order, written into `scratch` (grown
 * when a field might not fit: a UTF-16 unit takes at most 3 bytes) and valid until the next call.
 */
const frame = (fields: ReadonlyArray<string | Uint8Array>): Buffer => {
  for (;;) {
    let offset = 0
    let fits = true
    for (const value of fields) {
      const isText = typeof value === "string"
      if (scratch.length - offset - 4 < (isText ? value.length * 3 : value.length)) {
        fits = false
        break
      }
      let size: number
      if (isText) {
        size = writeText(value, offset + 4)
      } else {
        scratch.set(value, offset + 4)
        size = value.length
      }
      writeLength(size, offset)
      offset += 4 + size
    }
    if (fits) return scratch.subarray(0, offset)
    scratch = Buffer.allocUnsafe(scratch.length * 2)
  }
}

/**
 * SHA-256 of the previous link and every stored field of the event, each length-prefixed so no
 * two different events share an encoding. The chain runs in global position order, which a
 * store assigns under one lock, so concurrent writers cannot fork it (docs/adr/0008).
 */
export const link = (previous: string, event: Linkable): string =>
  hash("sha256", frame([
    previous,
    String(event.position),
    event.eventId,
    event.aggregateId,
    String(event.version),
    event.type,
    String(event.schemaVersion),
    String(event.timestamp.epochMillis),
    event.data,
    event.metadata.userId,
    event.metadata.correlationId,
    event.metadata.causationId,
    event.metadata.commandId
  ]), "hex")
