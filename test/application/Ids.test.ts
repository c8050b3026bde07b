import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { uuidv7, uuidv7s } from "../../src/application/Ids.js"
import { isCanonicalUuid } from "../../src/application/Uuid.js"

const AT = Date.parse("2026-03-02T14:32:00.000Z")
const msOf = (id: string) => parseInt(id.replace(/-/g, "").slice(0, 12), 16)
const isV7 = (id: string) => isCanonicalUuid(id) && id[14] === "7" && "89ab".includes(id[19]!)

describe("UUIDv7", () => {
  it.effect("one id: the clock's milliseconds first, version 7, RFC variant", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(AT)
      const id = yield* uuidv7
      expect(isV7(id)).toBe(true)
      expect(msOf(id)).toBe(AT)
    }))

  it.effect("many from one draw: all version 7 at the clock's milliseconds, distinct and in order", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(AT)
      const ids = yield* uuidv7s(3)
      expect(ids).toHaveLength(3)
      for (const id of ids) {
        expect(isV7(id)).toBe(true)
        expect(msOf(id)).toBe(AT)
      }
      expect(new Set(ids).size).toBe(3)
      expect([...ids].sort()).toEqual(ids)
      expect(yield* uuidv7s(0)).toEqual([])
    }))

  it.effect("more than one draw counts: every id distinct, exactly as many as asked", () =>
    Effect.gen(function*() {
      const ids = yield* uuidv7s(5000)
      expect(ids).toHaveLength(5000)
      expect(new Set(ids).size).toBe(5000)
      expect(ids.every(isV7)).toBe(true)
    }))
})
