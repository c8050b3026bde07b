import { writeFileSync } from "node:fs"
import { CATALOG_PATH, eventCatalog } from "../src/application/avro/Catalog.js"

// Regenerates the event catalog from the event Schemas: `npm run catalog` (npx tsx scripts/catalog.ts).
writeFileSync(new URL(`../${CATALOG_PATH}`, import.meta.url), eventCatalog())
console.log(`wrote ${CATALOG_PATH}`)
