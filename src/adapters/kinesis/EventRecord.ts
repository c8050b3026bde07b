import { Data, DateTime, Either, Schema } from "effect"
import { EventMetadata, type RecordedEvent } from "../../application/ports/EventStore.js"

/**
 * One recorded event as the Data of one Kinesis record (format 1):
 *
 * ```
 * byte 0        0x01, the format version
 * bytes 1..4    H, the header's length in bytes (unsigned 32-bit, big-endian)
 * bytes 5..5+H  the header: UTF-8 JSON of the envelope
 *               {"eventId","aggregateId","version","position","type","schemaVersion",
 *                "timestamp" (ISO 8601 UTC, ms),"metadata":{"userId","correlationId","causationId","commandId"},"hash"}
 * the rest      the event's payload as stored: its Avro bytes (schemaVersion says which schema wrote them)
 * ```
 *
 * The envelope stays readable with any JSON tool; the payload is not inflated by base64 (the SDK
 * already base64-encodes Data on the wire). The partition key is the aggregateId, so one
 * aggregate's events stay in one shard, in order.
 */
export const FORMAT = 1

const PREFIX = 5

const Header = Schema.Struct({
  eventId: Schema.String,
  aggregateId: Schema.String,
  version: Schema.Int.pipe(Schema.positive()),
  position: Schema.Int.pipe(Schema.positive()),
  type: Schema.String,
  schemaVersion: Schema.Int,
  timestamp: Schema.DateTimeUtc,
  metadata: EventMetadata,
  hash: Schema.String
})

const decodeHeader = Schema.decodeEither(Schema.parseJson(Header))

/** A record's Data is not an event of a format this code reads. */
export class RecordUndecodable extends Data.TaggedError("RecordUndecodable")<{ readonly reason: string }> {
  override get message() { return this.reason }
}

export const encode = (event: RecordedEvent): Uint8Array => {
  const header = Buffer.from(JSON.stringify({
    eventId: event.eventId,
    aggregateId: event.aggregateId,
    version: event.version,
    position: event.position,
    type: event.type,
    schemaVersion: event.schemaVersion,
    timestamp: DateTime.formatIso(event.timestamp),
    metadata: {
      userId: event.metadata.userId,
      correlationId: event.metadata.correlationId,
      causationId: event.metadata.causationId,
      commandId: event.metadata.commandId
    },
    hash: event.hash
  }), "utf8")
  const bytes = new Uint8Array(PREFIX + header.byteLength + event.data.byteLength)
  const view = new DataView(bytes.buffer)
  view.setUint8(0, FORMAT)
  view.setUint32(1, header.byteLength)
  bytes.set(header, PREFIX)
  bytes.set(event.data, PREFIX + header.byteLength)
  return bytes
}

export const decode = (bytes: Uint8Array): Either.Either<RecordedEvent, RecordUndecodable> => {
  if (bytes.byteLength < PREFIX) return Either.left(new RecordUndecodable({ reason: `${bytes.byteLength} bytes: too short for an event record` }))
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const format = view.getUint8(0)
  if (format !== FORMAT) return Either.left(new RecordUndecodable({ reason: `record format ${format}, not ${FORMAT}` }))
  const length = view.getUint32(1)
  if (PREFIX + length > bytes.byteLength) {
    return Either.left(new RecordUndecodable({ reason: `a header of ${length} bytes in a record of ${bytes.byteLength}` }))
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + PREFIX, length).toString("utf8")
  return decodeHeader(text).pipe(
    Either.mapLeft((e) => new RecordUndecodable({ reason: `the envelope does not decode: ${e.message}` })),
    Either.map((header): RecordedEvent => ({ ...header, data: bytes.slice(PREFIX + length) }))
  )
}
