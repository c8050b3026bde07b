import { randomFillSync } from "node:crypto"

const NIBBLE = "0123456789abcdef"
const BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))
const pool = new Uint8Array(10 * 4096)
let offset = pool.length

/**
 * A UUIDv7 with the layout of src/application/Ids.ts `uuidv7` (48 bits of Unix milliseconds, version 7,
 * variant 10, random bits), made synchronously from a pool of random bytes. The Effect one costs about
 * 5 µs an id here, a quarter of a core at 25k appends/s with two ids each, which the benchmark would
 * charge to the store.
 */
export const uuidv7 = (ms: number = Date.now()): string => {
  if (offset + 10 > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  // no inner closure: under tsx every closure made in a call is also named in that call
  const o = offset
  const time = ms.toString(16).padStart(12, "0")
  const id = `${time.slice(0, 8)}-${time.slice(8)}-7${NIBBLE[pool[o]! & 0x0f]}${BYTE[pool[o + 1]!]}-${BYTE[0x80 | (pool[o + 2]! & 0x3f)]}` +
    `${BYTE[pool[o + 3]!]}-${BYTE[pool[o + 4]!]}${BYTE[pool[o + 5]!]}${BYTE[pool[o + 6]!]}${BYTE[pool[o + 7]!]}${BYTE[pool[o + 8]!]}${BYTE[pool[o + 9]!]}`
  offset += 10
  return id
}
