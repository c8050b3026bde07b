import { DateTime } from "effect"
import type { RecordedEvent } from "../../application/ports/EventStore.js"

/**
 * Many events in one binary attribute: the outbox, the staged chunks of a large append and the
 * sequenced log keep events this way, so a chunk of hundreds of events is one item (one write)
 * instead of hundreds. Before sequencing an event is packed with position 0 and an empty hash.
 *
 * Format 1: a format byte, then per event a u32 record length and the fields: position, version,
 * schemaVersion and timestamp (ms) as float64 (exact for safe integers); aggregateId, eventId, type,
 * userId, correlationId, causationId, commandId as u32-length-prefixed UTF-8; data as u32-length-
 * prefixed bytes; the hash as a u8 length (0 or 32) and raw bytes.
 */
const FORMAT = 1
const FIXED = 4 + 4 * 8 + 7 * 4 + 4 + 1

const strings = (e: RecordedEvent) => [
  e.aggregateId, e.eventId, e.type, e.metadata.userId, e.metadata.correlationId, e.metadata.causationId, e.metadata.commandId
]

/** Bytes `e` takes in a chunk. */
export const recordSize = (e: RecordedEvent): number =>
  FIXED + strings(e).reduce((n, s) => n + Buffer.byteLength(s, "utf8"), 0) + e.data.byteLength + (e.hash === "" ? 0 : 32)

/** The chunk holding `events`, in order. */
export const encode = (events: ReadonlyArray<RecordedEvent>): Uint8Array => {
  const sizes = events.map(recordSize)
  const buffer = Buffer.allocUnsafe(1 + sizes.reduce((a, b) => a + b, 0))
  let at = buffer.writeUInt8(FORMAT, 0)
  events.forEach((e, i) => {
    at = buffer.writeUInt32BE(sizes[i]!, at)
    at = buffer.writeDoubleBE(e.position, at)
    at = buffer.writeDoubleBE(e.version, at)
    at = buffer.writeDoubleBE(e.schemaVersion, at)
    at = buffer.writeDoubleBE(e.timestamp.epochMillis, at)
    for (const s of strings(e)) {
      const length = buffer.write(s, at + 4, "utf8")
      at = buffer.writeUInt32BE(length, at) + length
    }
    at = buffer.writeUInt32BE(e.data.byteLength, at)
    buffer.set(e.data, at)
    at += e.data.byteLength
    const hash = e.hash === "" ? Buffer.alloc(0) : Buffer.from(e.hash, "hex")
    at = buffer.writeUInt8(hash.length, at)
    hash.copy(buffer, at)
    at += hash.length
  })
  return buffer
}

/** The events of a chunk, in order; `keep` (given the position) skips events without decoding them. */
export const decode = (chunk: Uint8Array, keep: (position: number) => boolean = () => true): Array<RecordedEvent> => {
  const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  if (buffer.readUInt8(0) !== FORMAT) throw new Error(`unknown packed format ${buffer.readUInt8(0)}`)
  const out: Array<RecordedEvent> = []
  for (let at = 1; at < buffer.length;) {
    const size = buffer.readUInt32BE(at)
    const position = buffer.readDoubleBE(at + 4)
    if (!keep(position)) {
      at += size
      continue
    }
    let p = at + 4 + 8
    const version = buffer.readDoubleBE(p)
    const schemaVersion = buffer.readDoubleBE(p + 8)
    const millis = buffer.readDoubleBE(p + 16)
    p += 24
    const text: Array<string> = []
    for (let i = 0; i < 7; i++) {
      const length = buffer.readUInt32BE(p)
      text.push(buffer.toString("utf8", p + 4, p + 4 + length))
      p += 4 + length
    }
    const dataLength = buffer.readUInt32BE(p)
    const data = new Uint8Array(buffer.subarray(p + 4, p + 4 + dataLength))
    p += 4 + dataLength
    const hashLength = buffer.readUInt8(p)
    const [aggregateId, eventId, type, userId, correlationId, causationId, commandId] = text as [string, string, string, string, string, string, string]
    out.push({
      aggregateId, version, position, eventId, type, schemaVersion,
      timestamp: DateTime.unsafeMake(millis),
      data,
      metadata: { userId, correlationId, causationId, commandId },
      hash: buffer.toString("hex", p + 1, p + 1 + hashLength)
    })
    at += size
  }
  return out
}

/**
 * Splits `events` into runs of at most `maxBytes` packed bytes (an event bigger than that gets a
 * run of its own), also cutting wherever `cut(previous, next)` says so.
 */
export const runs = <E extends RecordedEvent>(
  events: ReadonlyArray<E>,
  maxBytes: number,
  cut: (previous: E, next: E) => boolean = () => false
): Array<Array<E>> => {
  const out: Array<Array<E>> = []
  let current: Array<E> = []
  let bytes = 1
  for (const e of events) {
    const size = recordSize(e)
    const previous = current[current.length - 1]
    if (previous !== undefined && (bytes + size > maxBytes || cut(previous, e))) {
      out.push(current)
      current = []
      bytes = 1
    }
    current.push(e)
    bytes += size
  }
  if (current.length > 0) out.push(current)
  return out
}
