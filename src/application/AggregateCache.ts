/**
 * The latest state this process knows of each aggregate, so a command does not reload its
 * aggregate from the store: it decides on the cached state and appends at the cached version.
 * The store's optimistic concurrency is what keeps that safe: another process that appended in
 * between makes the append fail with ConcurrencyConflict, and the handler drops the entry and
 * reloads (docs/adr/0016).
 *
 * One cache per event store instance (a WeakMap keyed by the service), so a new store, as every
 * test builds, starts cold. Bounded: the least recently used aggregate goes first.
 */
export interface Entry<S> {
  readonly state: S
  readonly version: number
  /** When the store last confirmed this version (ms), for readers that accept bounded staleness. */
  readonly confirmedAt: number
}

export interface AggregateCache {
  readonly get: <S>(stream: string) => Entry<S> | undefined
  /** Keeps the entry unless a newer version is already cached. */
  readonly set: <S>(stream: string, entry: Entry<S>) => void
  readonly drop: (stream: string) => void
}

interface Owned {
  readonly entries: Map<string, Entry<unknown>>
  readonly capacity: number
  readonly cache: AggregateCache
}

const caches = new WeakMap<object, Owned>()

/** The cache of `owner`'s aggregates: the same object for the same capacity (a command asks for it each time). */
export const cacheOf = (owner: object, capacity: number): AggregateCache => {
  const known = caches.get(owner)
  if (known !== undefined && known.capacity === capacity) return known.cache
  const entries = known?.entries ?? new Map<string, Entry<unknown>>()
  const cache = make(entries, capacity)
  caches.set(owner, { entries, capacity, cache })
  return cache
}

const make = (map: Map<string, Entry<unknown>>, capacity: number): AggregateCache => ({
  get: <S>(stream: string) => {
    if (capacity <= 0) return undefined
    const entry = map.get(stream)
    if (entry === undefined) return undefined
    // most recently used last: delete and set again
    map.delete(stream)
    map.set(stream, entry)
    return entry as Entry<S>
  },
  set: (stream, entry) => {
    if (capacity <= 0) return
    const current = map.get(stream)
    if (current !== undefined && current.version > entry.version) return
    map.delete(stream)
    map.set(stream, entry)
    if (map.size > capacity) {
      const oldest = map.keys().next()
      if (oldest.done !== true) map.delete(oldest.value)
    }
  },
  drop: (stream) => {
    map.delete(stream)
  }
})
