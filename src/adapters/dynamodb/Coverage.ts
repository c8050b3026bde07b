import { Effect } from "effect"
import { type DynamoApi, queryItems } from "./DynamoClient.js"
import { type Item, num, pad, S, sequencedPartition } from "./Items.js"

/** A run of an aggregate's versions that the sequencer placed at consecutive positions. */
export interface SequencedRun {
  readonly firstVersion: number
  readonly lastVersion: number
  readonly firstPosition: number
  /** 32 bytes per version: the chain links. */
  readonly links: Uint8Array
}

export const fromRecord = (item: Item): SequencedRun => {
  const links = item.Links?.B ?? new Uint8Array()
  return {
    firstVersion: num(item, "FirstVersion"),
    lastVersion: Number(item.SK?.S ?? "0"),
    firstPosition: num(item, "FirstPosition"),
    links
  }
}

/** Position and link of each version the runs cover. */
export interface Coverage {
  readonly find: (version: number) => { readonly position: number; readonly hash: string } | undefined
}

export const coverage = (runs: ReadonlyArray<SequencedRun>): Coverage => ({
  find: (version) => {
    const run = runs.find((r) => r.firstVersion <= version && version <= r.lastVersion)
    if (run === undefined) return undefined
    const i = version - run.firstVersion
    return {
      position: run.firstPosition + i,
      hash: Buffer.from(run.links.buffer, run.links.byteOffset + 32 * i, 32).toString("hex")
    }
  }
})

/** The sequencing records of `aggregateId` covering versions `from`..`to` (consistent reads). */
export const readCoverage = (dynamo: DynamoApi, table: string, aggregateId: string, from: number, to: number) =>
  queryItems(dynamo, {
    TableName: table,
    ConsistentRead: true,
    KeyConditionExpression: "PK = :pk AND SK >= :from",
    ExpressionAttributeValues: { ":pk": S(sequencedPartition(aggregateId)), ":from": S(pad(from)) }
  }, (items) => Number(items[items.length - 1]?.SK?.S ?? "0") >= to).pipe(Effect.map((items) => coverage(items.map(fromRecord))))
