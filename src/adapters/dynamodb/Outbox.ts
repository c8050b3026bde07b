import * as Items from "./Items.js"

/** An append that committed and waits in the outbox for its positions. */
export interface OutboxEntry {
  readonly key: Items.Item
  readonly aggregateId: string
  readonly firstVersion: number
  readonly count: number
  /** How many of its events the committing transaction wrote as items; the sequencer writes the rest. */
  readonly inline: number
  readonly appendId: string
  /** Staged chunks of the events not written inline (the sequencer writes those). */
  readonly chunks: number
  readonly createdAt: number
}

export const fromOutbox = (item: Items.Item): OutboxEntry => ({
  key: { PK: item.PK!, SK: item.SK! },
  aggregateId: Items.str(item, "AggregateId"),
  firstVersion: Items.num(item, "FirstVersion"),
  count: Items.num(item, "Count"),
  inline: Items.num(item, "Inline"),
  appendId: Items.str(item, "AppendId"),
  chunks: Items.num(item, "Chunks"),
  createdAt: Items.num(item, "CreatedAt")
})

/**
 * Oldest first across aggregates, and each aggregate's appends in version order whatever the
 * clocks of the processes that wrote them said.
 */
export const order = (entries: ReadonlyArray<OutboxEntry>): Array<OutboxEntry> => {
  const byVersion = new Map<string, Array<OutboxEntry>>()
  for (const e of entries) byVersion.set(e.aggregateId, [...(byVersion.get(e.aggregateId) ?? []), e])
  for (const group of byVersion.values()) group.sort((a, b) => a.firstVersion - b.firstVersion)
  const taken = new Map<string, number>()
  return [...entries]
    .sort((a, b) => a.createdAt - b.createdAt || a.appendId.localeCompare(b.appendId))
    .map((e) => {
      const i = taken.get(e.aggregateId) ?? 0
      taken.set(e.aggregateId, i + 1)
      return byVersion.get(e.aggregateId)![i]!
    })
}
