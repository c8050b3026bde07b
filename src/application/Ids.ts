import { Clock, Effect, Random } from "effect"

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0")

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids sort by creation
 * time. Reads the Clock and Random services, so tests control both.
 */
export const uuidv7: Effect.Effect<string> = Effect.gen(function*() {
  const ms = yield* Clock.currentTimeMillis
  const r1 = yield* Random.nextIntBetween(0, 0x1000) // 12 bits: rand_a
  const r2 = yield* Random.nextIntBetween(0, 0x4000) // 14 bits: rand_b high
  const r3 = yield* Random.nextIntBetween(0, 0x10000_0000) // 32 bits
  const r4 = yield* Random.nextIntBetween(0, 0x10000) // 16 bits
  const time = hex(Number(ms), 12)
  return `${time.slice(0, 8)}-${time.slice(8)}-7${hex(r1, 3)}-${hex(0x8000 | r2, 4)}-${hex(r3, 8)}${hex(r4, 4)}`
})
