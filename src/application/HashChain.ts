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
        size = scratch.write(value, offset + 4, "utf8")
      } else {
        scratch.set(value, offset + 4)
        size = value.length
      }
      scratch.writeUInt32BE(size, offset)
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
