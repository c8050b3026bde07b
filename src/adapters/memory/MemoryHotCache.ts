import { Clock, Duration, Effect, Layer, Option } from "effect"
import { HotCache } from "../../application/ports/HotCache.js"

/**
 * The hot cache in this process's memory, on the Clock (so TestClock drives its TTLs). Fences are
 * kept for good: one number per key ever invalidated.
 */
export const make = Effect.sync(() => {
  const entries = new Map<string, { readonly value: string; readonly version: number; readonly expiresAt: number }>()
  const fences = new Map<string, number>()
  return HotCache.of({
    get: (key) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const entry = entries.get(key)
        if (entry === undefined) return Option.none()
        if (entry.expiresAt > now && entry.version >= (fences.get(key) ?? 0)) return Option.some(entry.value)
        entries.delete(key)
        return Option.none()
      }),
    set: (key, value, version, ttl) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        entries.set(key, { value, version, expiresAt: now + Duration.toMillis(ttl) })
      }),
    invalidate: (keys, version) =>
      Effect.sync(() => {
        for (const key of keys) if (version > (fences.get(key) ?? 0)) fences.set(key, version)
      })
  })
})

export const layer = Layer.effect(HotCache, make)
