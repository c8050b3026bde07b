import { DateTime } from "effect"
import type { RecordedEvent } from "../../application/ports/EventStore.js"
import { writeHex, writeUuidText } from "../../application/Uuid.js"
import { fromColumns } from "../sql/MetadataColumns.js"

/**
 * How PostgreSQL sends an event to this process: the columns that are always there packed into one
 * field, sent as base64 text, and the four metadata text columns, NULL when the value is elsewhere
 * (docs/adr/0017). node-postgres makes a string of every field of every row; fifteen fields cost
 * about 2.7 µs of this process's CPU per event, the packed row about 1.9 (docs/adr/0024).
 *
 * The packed bytes, big-endian:
 *
 * | bytes | what |
 * |---|---|
 * | 8 | position (int8) |
 * | 4 | version (int4) |
 * | 2 | schema_version (int2) |
 * | 8 | timestamp, epoch milliseconds (int8; stored at whole milliseconds) |
 * | 16 | event_id (uuid) |
 * | 32 | hash (the chain's SHA-256) |
 * | 16 | user_uuid, only when user_id is NULL (the table's CHECK: exactly one of the two) |
 * | 16 | command_uuid, only when command_id is NULL (likewise) |
 * | 4 + n | aggregate_id: its UTF-8 length, then its bytes |
 * | 4 + n | type: likewise |
 * | rest | data |
 */
const PACKED = [
  "int8send(position)",
  "int4send(version)",
  "int2send(schema_version)",
  "int8send((extract(epoch FROM timestamp) * 1000)::int8)",
  "uuid_send(event_id)",
  "hash",
  "coalesce(uuid_send(user_uuid), ''::bytea)",
  "coalesce(uuid_send(command_uuid), ''::bytea)",
  "int4send(octet_length(convert_to(aggregate_id, 'UTF8')))",
  "convert_to(aggregate_id, 'UTF8')",
  "int4send(octet_length(convert_to(type, 'UTF8')))",
  "convert_to(type, 'UTF8')",
  "data"
].join(" || ")

/**
 * The select list. base64 rather than bytea's hex: a third shorter to receive, and quicker to
 * decode (the newlines PostgreSQL puts in it every 76 characters are skipped by Buffer.from).
 */
export const COLUMNS = `encode(${PACKED}, 'base64') AS packed, user_id, correlation_id, causation_id, command_id`

export interface PackedRow {
  readonly packed: string
  readonly user_id: string | null
  readonly correlation_id: string | null
  readonly causation_id: string | null
  readonly command_id: string | null
}

const HASH_BYTES = 32
const FIXED = 8 + 4 + 2 + 8 + 16 + HASH_BYTES

const int8At = (b: Buffer, at: number) => b.readInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4)

/** The length of a text of the packed bytes at `at` (its UTF-8 follows). */
const lengthAt = (b: Buffer, at: number): number => {
  const length = b.readInt32BE(at)
  if (length < 0 || at + 4 + length > b.length) throw new RangeError(`a packed event row is cut short at ${at}`)
  return length
}

/**
 * The ids and the hash as text: written side by side into one scratch buffer and read back as one
 * string, which the four are slices of (one crossing into the runtime instead of four).
 */
const ids = Buffer.alloc(3 * 36 + 2 * HASH_BYTES)

export const fromPackedRow = (row: PackedRow): RecordedEvent => {
  const b = Buffer.from(row.packed, "base64")
  if (b.length < FIXED) throw new RangeError(`a packed event row of ${b.length} bytes`)
  writeUuidText(b, 22, ids, 0)
  writeHex(b, 38, HASH_BYTES, ids, 36)
  let at = FIXED
  let end = 36 + 2 * HASH_BYTES
  const userUuidAt = row.user_id === null ? end : -1
  if (row.user_id === null) {
    writeUuidText(b, at, ids, end)
    at += 16
    end += 36
  }
  const commandUuidAt = row.command_id === null ? end : -1
  if (row.command_id === null) {
    writeUuidText(b, at, ids, end)
    at += 16
    end += 36
  }
  const text = ids.toString("latin1", 0, end)
  const aggregateLength = lengthAt(b, at)
  const aggregateId = b.toString("utf8", at + 4, at + 4 + aggregateLength)
  at += 4 + aggregateLength
  const typeLength = lengthAt(b, at)
  const type = b.toString("utf8", at + 4, at + 4 + typeLength)
  at += 4 + typeLength
  // the same keys in the same order as SqlEventStore's rows: one shape for every RecordedEvent
  return {
    position: int8At(b, 0),
    aggregateId,
    version: b.readInt32BE(8),
    eventId: text.slice(0, 36),
    type,
    schemaVersion: b.readInt16BE(12),
    timestamp: DateTime.unsafeMake(int8At(b, 14)),
    data: new Uint8Array(b.buffer, b.byteOffset + at, b.length - at),
    metadata: fromColumns({
      user_id: row.user_id, user_uuid: userUuidAt < 0 ? null : text.slice(userUuidAt, userUuidAt + 36), correlation_id: row.correlation_id,
      causation_id: row.causation_id, command_id: row.command_id, command_uuid: commandUuidAt < 0 ? null : text.slice(commandUuidAt, commandUuidAt + 36)
    }),
    hash: text.slice(36, 36 + 2 * HASH_BYTES)
  }
}
