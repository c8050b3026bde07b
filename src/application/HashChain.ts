import { createHash } from "node:crypto"
import type { NewEvent } from "./ports/EventStore.js"

/** The link before the first event. */
export const GENESIS = "0".repeat(64)

/** What a link covers: the stored event as committed, without its own hash. */
export interface Linkable extends NewEvent {
  readonly aggregateId: string
  readonly version: number
  readonly position: number
}

/** Each field as a 4-byte big-endian length and its bytes, in order. */
const frame = (fields: ReadonlyArray<string | Uint8Array>): Buffer => {
  const parts = fields.map((value) => typeof value === "string" ? Buffer.from(value, "utf8") : value)
  let size = 0
  for (const part of parts) size += 4 + part.length
  const out = Buffer.allocUnsafe(size)
  let offset = 0
  for (const part of parts) {
    offset = out.writeUInt32BE(part.length, offset)
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * SHA-256 of the previous link and every stored field of the event, each length-prefixed so no
 * two different events share an encoding. The chain runs in global position order, which a
 * store assigns under one lock, so concurrent writers cannot fork it (docs/adr/0008).
 */
export const link = (previous: string, event: Linkable): string =>
  createHash("sha256").update(frame([
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
  ])).digest("hex")
