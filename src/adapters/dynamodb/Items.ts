import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import { DateTime } from "effect"
import type { NewEvent, RecordedEvent } from "../../application/ports/EventStore.js"
import { recordSize } from "./Packed.js"

export type Item = Record<string, AttributeValue>

/** DynamoDB's limit of items per TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100
/** DynamoDB allows 4 MB per transaction; this leaves room for attribute names, keys and expressions. */
export const MAX_TRANSACTION_BYTES = 3_500_000
/** Packed bytes per chunk item (DynamoDB: 400 KB per item). */
export const CHUNK_BYTES = 256 * 1024
/** The largest event accepted (its packed size): its item stays under 400 KB. */
export const MAX_EVENT_BYTES = 300 * 1024
/**
 * The largest append accepted (packed bytes). Sequencing writes an append's events twice (the log
 * and its type index) in one transaction, which must stay under 4 MB.
 */
export const MAX_APPEND_BYTES = 1_500_000
/**
 * Appends of up to this many events commit all their event items in their transaction. A larger
 * one commits its first (which claims all its versions) and the sequencer writes the rest with
 * BatchWriteItem: transactional writes cost twice as much (two write units per item on AWS, about
 * three times the CPU per item in DynamoDB Local), and the rest would not fit past 100 items anyway.
 */
export const INLINE_EVENTS = 25
/** Chain links per sequencing record (32 bytes each). */
export const LINKS_PER_RECORD = 4096

/** Zero-padded, so string sort keys sort as numbers. */
export const pad = (n: number) => String(n).padStart(16, "0")

export const S = (value: string): AttributeValue => ({ S: value })
export const N = (value: number): AttributeValue => ({ N: String(value) })
export const B = (value: Uint8Array): AttributeValue => ({ B: value })

const key = (pk: string, sk: string): Item => ({ PK: S(pk), SK: S(sk) })

/** The chain head: the last sequenced position and its link. */
export const headKey = key("head", "head")
/** An append committed but not yet sequenced. */
export const outboxKey = (shard: number, aggregateId: string, firstVersion: number) =>
  key(`outbox#${shard}`, `${aggregateId}#${pad(firstVersion)}`)
export const outboxPartition = (shard: number) => `outbox#${shard}`
/** The chunks of a large append's events past its first, written before the append commits. */
export const stageKey = (appendId: string, chunk: number) => key(`stage#${appendId}`, pad(chunk))
/** Where some of an aggregate's versions landed in the log: keyed by the last version it covers. */
export const sequencedKey = (aggregateId: string, lastVersion: number) => key(`seq#${aggregateId}`, pad(lastVersion))
export const sequencedPartition = (aggregateId: string) => `seq#${aggregateId}`
/** A chunk of the global log, keyed by its last position, in the partition of its bucket of positions. */
export const logKey = (bucket: number, lastPosition: number) => key(`log#${bucket}`, pad(lastPosition))
export const logPartition = (bucket: number) => `log#${bucket}`
/** A chunk of the log of one event type, keyed by its last position. */
export const typeKey = (type: string, lastPosition: number) => key(`type#${type}`, pad(lastPosition))
export const typePartition = (type: string) => `type#${type}`

/** FNV-1a: spreads aggregates over the outbox partitions. */
export const shardOf = (aggregateId: string, shards: number) => {
  let h = 0x811c9dc5
  for (let i = 0; i < aggregateId.length; i++) {
    h ^= aggregateId.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % shards
}

/** An event before sequencing, in the shape the packed chunks take. */
export const unsequenced = (aggregateId: string, version: number, event: NewEvent): RecordedEvent => ({
  ...event, data: Uint8Array.from(event.data), metadata: { ...event.metadata }, aggregateId, version, position: 0, hash: ""
})

/** The item of one event (the brief's table): `AppendEnd` is the last version of the append it came in. */
export const eventItem = (e: RecordedEvent, appendEnd: number): Item => ({
  AggregateId: S(e.aggregateId),
  Version: N(e.version),
  EventId: S(e.eventId),
  EventType: S(e.type),
  EventData: B(e.data),
  Timestamp: N(e.timestamp.epochMillis),
  SchemaVersion: N(e.schemaVersion),
  Metadata: {
    M: {
      userId: S(e.metadata.userId), correlationId: S(e.metadata.correlationId),
      causationId: S(e.metadata.causationId), commandId: S(e.metadata.commandId)
    }
  },
  AppendEnd: N(appendEnd)
})

/** An upper bound of an event item's size as DynamoDB counts it (names and values). */
export const eventItemSize = (e: RecordedEvent) => recordSize(e) + 200

export const str = (item: Item, name: string) => item[name]?.S ?? ""
export const num = (item: Item, name: string) => Number(item[name]?.N ?? "0")

/** The event of an item, with the position and link the sequencer gave it. */
export const fromEventItem = (item: Item, position: number, hash: string): RecordedEvent => {
  const metadata = item.Metadata?.M ?? {}
  const data = item.EventData?.B ?? new Uint8Array()
  return {
    aggregateId: str(item, "AggregateId"),
    version: num(item, "Version"),
    position,
    hash,
    eventId: str(item, "EventId"),
    type: str(item, "EventType"),
    schemaVersion: num(item, "SchemaVersion"),
    timestamp: DateTime.unsafeMake(num(item, "Timestamp")),
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    metadata: {
      userId: str(metadata, "userId"), correlationId: str(metadata, "correlationId"),
      causationId: str(metadata, "causationId"), commandId: str(metadata, "commandId")
    }
  }
}

