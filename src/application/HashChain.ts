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

const field = (hash: ReturnType<typeof createHash>, value: string | Uint8Array) => {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value
  const length = Buffer.alloc(4)
  length.writeUInt32BE(bytes.length)
  hash.update(length).update(bytes)
}

/**
 * SHA-256 of the previous link and every stored field of the event, each length-prefixed so no
 * two different events share an encoding. The chain runs in global position order, which a
 * store assigns under one lock, so concurrent writers cannot fork it (docs/adr/0008).
 */
export const link = (previous: string, event: Linkable): string => {
  const hash = createHash("sha256")
  field(hash, previous)
  field(hash, String(event.position))
  field(hash, event.eventId)
  field(hash, event.aggregateId)
  field(hash, String(event.version))
  field(hash, event.type)
  field(hash, String(event.schemaVersion))
  field(hash, String(event.timestamp.epochMillis))
  field(hash, event.data)
  field(hash, event.metadata.userId)
  field(hash, event.metadata.correlationId)
  field(hash, event.metadata.causationId)
  field(hash, event.metadata.commandId)
  return hash.digest("hex")
}
