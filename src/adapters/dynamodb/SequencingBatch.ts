import type { TransactWriteItem } from "@aws-sdk/client-dynamodb"
import type { ChainLink, RecordedEvent } from "../../application/ports/EventStore.js"
import * as Items from "./Items.js"
import type { OutboxEntry } from "./Outbox.js"
import * as Packed from "./Packed.js"
import type { TableNames } from "./Tables.js"

/** Items and bytes a sequencing transaction would take; copied to try an append before taking it. */
export class Budget {
  items = 1 // the head
  bytes = 500
  private log: { bucket: number; bytes: number } | undefined = undefined
  private types = new Map<string, number>()
  constructor(private readonly bucketOf: (position: number) => number) {}

  copy(): Budget {
    const b = new Budget(this.bucketOf)
    b.items = this.items
    b.bytes = this.bytes
    b.log = this.log === undefined ? undefined : { ...this.log }
    b.types = new Map(this.types)
    return b
  }

  /** Mirrors Packed.runs: a new chunk item when the current one is full or the bucket changes. */
  add(entry: OutboxEntry, events: ReadonlyArray<RecordedEvent>, checksPrevious: boolean) {
    for (const e of events) {
      const size = Packed.recordSize(e) // with its link
      const bucket = this.bucketOf(e.position)
      if (this.log === undefined || this.log.bucket !== bucket || this.log.bytes + size > Items.CHUNK_BYTES) {
        this.items++
        this.bytes += 200
        this.log = { bucket, bytes: 1 }
      }
      this.log.bytes += size
      const typeBytes = this.types.get(e.type)
      if (typeBytes === undefined || typeBytes + size > Items.CHUNK_BYTES) {
        this.items++
        this.bytes += 200
        this.types.set(e.type, 1 + size)
      } else this.types.set(e.type, typeBytes + size)
      this.bytes += 2 * size + 32
    }
    const records = Math.ceil(entry.count / Items.LINKS_PER_RECORD)
    const other = records + 1 + entry.chunks + (checksPrevious ? 1 : 0)
    this.items += other
    this.bytes += 300 * other
  }

  fits() {
    return this.items <= Items.MAX_TRANSACTION_ITEMS && this.bytes <= Items.MAX_TRANSACTION_BYTES
  }
}

/** An append taken into a sequencing transaction, with its positions and links. */
export interface Chosen {
  readonly entry: OutboxEntry
  readonly recorded: ReadonlyArray<RecordedEvent>
  /** Whether the transaction checks that the aggregate's previous append is sequenced (it is not in this batch). */
  readonly checksPrevious: boolean
}

/**
 * The sequencing transaction of `chosen` (in order, linked from `from`): the log chunks, the type
 * chunks, the sequencing records, the checks of previous appends, the deletion of the outbox
 * entries and staged chunks, and the head moved from `from`.
 */
export const transaction = (
  names: TableNames,
  bucketOf: (position: number) => number,
  from: ChainLink,
  chosen: ReadonlyArray<Chosen>
): Array<TransactWriteItem> => {
  const put = (item: Items.Item): TransactWriteItem =>
    ({ Put: { TableName: names.log, Item: item, ConditionExpression: "attribute_not_exists(PK)" } })
  const all = chosen.flatMap((c) => c.recorded)
  const last = all[all.length - 1]!
  const items: Array<TransactWriteItem> = []
  for (const run of Packed.runs(all, Items.CHUNK_BYTES, (a, b) => bucketOf(a.position) !== bucketOf(b.position))) {
    const end = run[run.length - 1]!
    items.push(put({ ...Items.logKey(bucketOf(end.position), end.position), First: Items.N(run[0]!.position), Events: Items.B(Packed.encode(run)) }))
  }
  const byType = new Map<string, Array<RecordedEvent>>()
  for (const e of all) byType.set(e.type, [...(byType.get(e.type) ?? []), e])
  for (const [type, events] of byType) {
    for (const run of Packed.runs(events, Items.CHUNK_BYTES)) {
      const end = run[run.length - 1]!
      items.push(put({ ...Items.typeKey(type, end.position), First: Items.N(run[0]!.position), Events: Items.B(Packed.encode(run)) }))
    }
  }
  for (const { checksPrevious, entry, recorded } of chosen) {
    for (let i = 0; i < recorded.length; i += Items.LINKS_PER_RECORD) {
      const part = recorded.slice(i, i + Items.LINKS_PER_RECORD)
      items.push(put({
        ...Items.sequencedKey(entry.aggregateId, part[part.length - 1]!.version),
        FirstVersion: Items.N(part[0]!.version),
        FirstPosition: Items.N(part[0]!.position),
        Links: Items.B(Buffer.concat(part.map((e) => Buffer.from(e.hash, "hex"))))
      }))
    }
    if (checksPrevious) {
      items.push({
        ConditionCheck: {
          TableName: names.log, Key: Items.sequencedKey(entry.aggregateId, entry.firstVersion - 1), ConditionExpression: "attribute_exists(PK)"
        }
      })
    }
    items.push({ Delete: { TableName: names.log, Key: entry.key, ConditionExpression: "attribute_exists(PK)" } })
    for (let chunk = 0; chunk < entry.chunks; chunk++) {
      items.push({ Delete: { TableName: names.log, Key: Items.stageKey(entry.appendId, chunk) } })
    }
  }
  items.push(from.position === 0
    ? put({ ...Items.headKey, Position: Items.N(last.position), Hash: Items.S(last.hash) })
    : {
      Update: {
        TableName: names.log,
        Key: Items.headKey,
        UpdateExpression: "SET #p = :p, #h = :h",
        ConditionExpression: "#p = :old",
        ExpressionAttributeNames: { "#p": "Position", "#h": "Hash" },
        ExpressionAttributeValues: { ":p": Items.N(last.position), ":h": Items.S(last.hash), ":old": Items.N(from.position) }
      }
    })
  return items
}
