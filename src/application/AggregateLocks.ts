import { Effect } from "effect"

/**
 * One writer per aggregate in this process: commands on the same aggregate wait for each other, so
 * they never conflict among themselves and each decides on the state the previous one left in the
 * AggregateCache. Without it, concurrent commands on a busy account all decide on the same version,
 * all but one fail the store's version check, and each reload-and-retry adds load just when the
 * process is busiest. Other processes are still kept out by the store's optimistic concurrency
 * (docs/adr/0016, 0018).
 *
 * One table per event-store instance (as the cache); a key is only in it while a command holds or
 * waits for it. Waiters go in arrival order; a waiter interrupted while it waits leaves the line,
 * and one interrupted just as it was handed the turn passes the turn on.
 */
interface Waiter {
  readonly resume: () => void
  /** 0 waiting, 1 given the turn, 2 gone (interrupted while waiting). */
  state: 0 | 1 | 2
}

const tables = new WeakMap<object, Map<string, Array<Waiter>>>()

const tableOf = (owner: object) => {
  let table = tables.get(owner)
  if (table === undefined) {
    table = new Map()
    tables.set(owner, table)
  }
  return table
}

const release = (table: Map<string, Array<Waiter>>, key: string) => {
  const line = table.get(key)
  if (line === undefined) return
  for (;;) {
    const next = line.shift()
    if (next === undefined) {
      table.delete(key)
      return
    }
    if (next.state === 0) {
      next.state = 1
      next.resume()
      return
    }
  }
}

const acquire = (table: Map<string, Array<Waiter>>, key: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const line = table.get(key)
    if (line === undefined) {
      table.set(key, [])
      return Effect.void
    }
    return Effect.async<void>((resume) => {
      const waiter: Waiter = { state: 0, resume: () => resume(Effect.void) }
      line.push(waiter)
      return Effect.sync(() => {
        if (waiter.state === 1) release(table, key)
        else waiter.state = 2
      })
    })
  })

/** Runs `effect` once no other fiber of this process runs one for `key` on the same store. */
export const exclusive = (owner: object, key: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const table = tableOf(owner)
  return Effect.uninterruptibleMask((restore) =>
    Effect.zipRight(restore(acquire(table, key)), Effect.ensuring(restore(effect), Effect.sync(() => release(table, key))))
  )
}

/** How many aggregates have a command running or waiting (for tests). */
export const held = (owner: object): number => tables.get(owner)?.size ?? 0

/**
 * Takes `key`'s turn at once if nobody holds or waits for it (answers whether it did), for a
 * holder that is not a fiber of its own (DecisionBatch); `unhold` gives the turn to the next in line.
 */
export const tryHold = (owner: object, key: string): boolean => {
  const table = tableOf(owner)
  if (table.has(key)) return false
  table.set(key, [])
  return true
}

export const unhold = (owner: object, key: string): void => release(tableOf(owner), key)
