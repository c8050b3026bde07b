import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { isCanonicalUuid, uuidFromBytes, uuidToBytes } from "../../src/application/Uuid.js"

describe("Uuid", () => {
  it("takes only the canonical text form: lowercase, 8-4-4-4-12", () => {
    expect(isCanonicalUuid("0195a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d")).toBe(true)
    expect(isCanonicalUuid("0195A3C4-5E6F-7A8B-9C0D-1E2F3A4B5C6D")).toBe(false)
    expect(isCanonicalUuid("{0195a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d}")).toBe(false)
    expect(isCanonicalUuid("0195a3c45e6f7a8b9c0d1e2f3a4b5c6d")).toBe(false)
    expect(isCanonicalUuid("0195a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6g")).toBe(false)
    expect(isCanonicalUuid("0195a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d\n")).toBe(false)
  })

  it.prop("gives back from its 16 bytes exactly the canonical text it was made from", [fc.uuid()], ([id]) => {
    expect(isCanonicalUuid(id)).toBe(true)
    expect(uuidToBytes(id)).toHaveLength(16)
    expect(uuidFromBytes(uuidToBytes(id))).toBe(id)
  })

  it.prop("reads any 16 bytes as a canonical UUID that writes back to them", [fc.uint8Array({ minLength: 16, maxLength: 16 })], ([bytes]) => {
    const id = uuidFromBytes(bytes)
    expect(isCanonicalUuid(id)).toBe(true)
    expect(new Uint8Array(uuidToBytes(id))).toEqual(bytes)
  })

  it("refuses bytes that are not 16 long", () => {
    expect(() => uuidFromBytes(new Uint8Array(15))).toThrow(/16 bytes, not 15/)
  })
})
