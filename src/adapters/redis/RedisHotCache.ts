import { Duration, Effect, Layer, Option } from "effect"
import type { Redis } from "ioredis"
import { HotCache, HotCacheUnavailable } from "../../application/ports/HotCache.js"
import { call, connect, type RedisFailure, type RedisSettings } from "./RedisConnection.js"

/** How long a fence outlives its last raise: far longer than any entry's TTL (an entry set below it is gone by then). */
const FENCE_TTL = Duration.days(1)

/** Raises each fence in KEYS to ARGV[1] (never lowers it) and keeps it for ARGV[2] ms: atomic, one round trip. */
const RAISE_FENCES = `
for _, key in ipairs(KEYS) do
  local fence = tonumber(redis.call('GET', key) or '0')
  if tonumber(ARGV[1]) > fence then redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  else redis.call('PEXPIRE', key, ARGV[2]) end
end
return #KEYS`

const unavailable = (e: RedisFailure) => new HotCacheUnavailable({ reason: e.reason, cause: e.cause })

/**
 * The hot cache in Redis. An entry is the string `<version> <value>` at `<prefix>cache:<key>`
 * (with the TTL); its fence is the number at `<prefix>fence:<key>`. A read fetches both with one MGET.
 */
export const make = (client: Redis, settings: RedisSettings) => {
  const entryKey = (key: string) => `${settings.prefix}cache:${key}`
  const fenceKey = (key: string) => `${settings.prefix}fence:${key}`
  return HotCache.of({
    get: (key) =>
      call("MGET", () => client.mget(entryKey(key), fenceKey(key))).pipe(
        Effect.map(([entry, fence]) => {
          const space = entry?.indexOf(" ") ?? -1
          if (entry == null || space < 0) return Option.none()
          return Number(entry.slice(0, space)) >= Number(fence ?? 0) ? Option.some(entry.slice(space + 1)) : Option.none()
        }),
        Effect.mapError(unavailable)
      ),
    set: (key, value, version, ttl) =>
      call("SET", () => client.set(entryKey(key), `${version} ${value}`, "PX", Math.max(1, Duration.toMillis(ttl)))).pipe(
        Effect.asVoid,
        Effect.mapError(unavailable)
      ),
    invalidate: (keys, version) =>
      keys.length === 0
        ? Effect.void
        : call("EVAL", () =>
          client.eval(RAISE_FENCES, keys.length, ...keys.map(fenceKey), version, Duration.toMillis(FENCE_TTL))).pipe(
            Effect.asVoid,
            Effect.mapError(unavailable)
          )
  })
}

export const layer = (settings: RedisSettings) =>
  Layer.scoped(HotCache, Effect.map(connect(settings, "cache"), (client) => make(client, settings)))
