import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { CATALOG_PATH, eventCatalog } from "../../../src/application/avro/Catalog.js"
import { AccountEventCodec, MarketEventCodec } from "../../../src/application/avro/history.js"

describe("event catalog", () => {
  it("on disk is the one the event Schemas generate", () => {
    const onDisk = readFileSync(new URL(`../../../${CATALOG_PATH}`, import.meta.url), "utf8")
    expect(onDisk, `${CATALOG_PATH} is stale: run \`npm run catalog\` (npx tsx scripts/catalog.ts)`).toBe(eventCatalog())
  })

  it("lists every event type with its version, and gives every field a meaning", () => {
    const catalog = eventCatalog()
    for (const codec of [AccountEventCodec, MarketEventCodec]) {
      for (const [tag, version] of Object.entries<number>(codec.versions)) {
        expect(catalog).toContain(`### ${tag}\n\nVersion ${version}; Avro record \`ledgerline.${tag}\``)
      }
    }
    expect(catalog).toContain("| tradeId | `uuid` (fixed, 16 bytes) \\| `string` | required | The trade (one fill of an order). |")
    expect(catalog).toContain("| executedAt | `timestamp-millis` (long) | required | When the trade was executed. |")
    expect(catalog).toContain("| venue | `null` \\| `string` | default `\"INTERNAL\"`, written as `null` |")
    expect(catalog).toContain("| limitPrice | `null` \\| `string` | nullable, default `null` |")
    expect(catalog.split("\n").filter((line) => /^\| \w+ \| .* \| {2}\|$/.test(line))).toEqual([])
  })
})
