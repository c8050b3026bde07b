import type { AvroField, AvroRecord, AvroType, RecordDocs } from "./AvroSchema.js"
import { AccountEventCodec, MarketEventCodec } from "./history.js"

/** What the catalog reads of an event codec. */
export interface CatalogSource {
  readonly name: string
  readonly versions: Readonly<Record<string, number>>
  readonly history: Readonly<Record<string, Readonly<Record<number, AvroRecord>>>>
  readonly avroSchemas: Readonly<Record<string, AvroRecord>>
  readonly docs: Readonly<Record<string, Readonly<Record<string, RecordDocs>>>>
}

/** Where `npm run catalog` writes the catalog, from the project root. */
export const CATALOG_PATH = "docs/events.md"

/**
 * Meanings of fields that carry no `description` annotation, by field name; `Record.field` keys win
 * over bare field names. A `description` on the property signature wins over both.
 */
export const glossary: Readonly<Record<string, string>> = {
  accountId: "The trading account.",
  customerId: "The customer who owns the account.",
  accountType: "Kind of account holder.",
  initialBalance: "Opening cash (decimal string, up to 2 dp).",
  currency: "Currency of the account's cash (ISO 4217 code).",
  amount: "Cash moved (decimal string, up to 2 dp).",
  orderId: "The order.",
  tradeId: "The trade (one fill of an order).",
  symbol: "Ticker: 1-10 characters of A-Z, 0-9, '.' or '-'.",
  side: "Buy or sell.",
  tradeType: "Side of the fill: buy or sell.",
  orderType: "MARKET fills at the last price; LIMIT rests until the price crosses its limit.",
  quantity: "Number of units (decimal string, up to 2 dp).",
  price: "Price per unit (decimal string, up to 4 dp).",
  limitPrice: "LIMIT price per unit (decimal string, up to 4 dp); null for a MARKET order.",
  "PriceOutsideBand.limitPrice": "The order's LIMIT price (decimal string, up to 4 dp).",
  reserved: "Cash set aside while a BUY rests (quantity × limit price); zero otherwise (decimal string, up to 2 dp).",
  reason: "Why the order was refused: the refusal, with its figures; its variant is the reason code.",
  "TradingHalted.reason": "Why trading was halted (free text).",
  limits: "The account's risk limits, replacing the previous ones.",
  maxOrderNotional: "Largest notional (quantity × price) of one order (decimal string); null: no limit.",
  maxPositionPerSymbol: "Largest position in one symbol, in units (decimal string); null: no limit.",
  maxGrossExposure: "Largest sum of the absolute values of all positions (decimal string); null: no limit.",
  allowShort: "Whether a SELL may exceed the position held.",
  venue: "Execution venue (ISO 10383 MIC).",
  priceBand: "Largest move between consecutive ticks, as a fraction of the last price, before a tick is an anomaly.",
  orderBand: "Largest distance of a LIMIT price from the last price, as a fraction (fat-finger guard).",
  haltOnAnomaly: "Whether a price anomaly halts trading.",
  timestamp: "The feed's own time for the tick.",
  anomaly: "Why the tick was refused.",
  lastPrice: "Last accepted price (decimal string, up to 4 dp); null before the first tick.",
  "PriceOutsideBand.lastPrice": "Last accepted price of the symbol (decimal string, up to 4 dp).",
  requested: "What the order or withdrawal needed (decimal string).",
  "InsufficientFunds.requested": "Cash needed by the order or withdrawal (decimal string, up to 2 dp).",
  "InsufficientFunds.available": "Cash available (decimal string, up to 2 dp).",
  "InsufficientPosition.requested": "Units the SELL needs (decimal string, up to 2 dp).",
  "InsufficientPosition.available": "Units held (decimal string, up to 2 dp).",
  notional: "The order's notional, quantity × price (decimal string).",
  limit: "The account's limit that applies (decimal string).",
  resulting: "What the figure would have become (decimal string).",
  band: "The market's order band, as a fraction of the last price.",
  field: "The input field at fault.",
  value: "The value given (decimal string).",
  problem: "What is wrong with it.",
  openedAt: "When it was opened.",
  depositedAt: "When the cash arrived.",
  withdrawnAt: "When the cash left.",
  setAt: "When the limits took effect.",
  placedAt: "When the order was accepted.",
  rejectedAt: "When the order was refused.",
  executedAt: "When the trade was executed.",
  cancelledAt: "When the order was cancelled.",
  closedAt: "When the market closed.",
  haltedAt: "When trading was halted.",
  resumedAt: "When trading resumed."
}

/** The catalog of every aggregate's events, as written to docs/events.md. */
export const eventCatalog = (): string => renderCatalog([AccountEventCodec, MarketEventCodec])

export const renderCatalog = (sources: ReadonlyArray<CatalogSource>): string => {
  const out: Array<string> = [
    "# Event catalog",
    "",
    "Generated from the event Schemas by `npm run catalog` (scripts/catalog.ts); do not edit by hand.",
    "",
    "Each event is stored as its type, its schema version and an Avro binary payload whose schema is derived",
    "from the event's Effect Schema (src/application/avro). The `_tag` is not in the payload: the type implies it.",
    "Decimals are exact decimal strings (trailing zeros dropped: \"100\" for 100.00); instants are `timestamp-millis`",
    "longs (milliseconds since the Unix epoch, UTC). Account, customer, order and trade ids, minted as UUIDs but free",
    "to be any string, are a union of the 16-byte `uuid` fixed `ledgerline.Uuid` (a UUID in canonical lowercase",
    "8-4-4-4-12 text) and a `string` (any other id). A field with a default is written as null when it holds it",
    "(\"written as `null`\"). An Option is carried as a nullable field (none is null). Older versions are frozen in",
    "src/application/avro/history.ts and read into the current one by Avro schema resolution (docs/adr/0017).",
    ""
  ]
  for (const source of sources) {
    const tags = Object.keys(source.versions)
    out.push(`## ${source.name}`, "", "| Event | Current version | Frozen versions |", "| --- | --- | --- |")
    for (const tag of tags) {
      out.push(`| [${tag}](#${tag.toLowerCase()}) | ${source.versions[tag]} | ${frozenVersions(source, tag)} |`)
    }
    out.push("")
    for (const tag of tags) out.push(...renderEvent(source, tag))
  }
  return out.join("\n")
}

const frozenVersions = (source: CatalogSource, tag: string) =>
  Object.keys(source.history[tag] ?? {}).map((v) => `v${v}`).join(", ") || "none"

const renderEvent = (source: CatalogSource, tag: string): Array<string> => {
  const schema = source.avroSchemas[tag]!
  const docs = source.docs[tag] ?? {}
  const out = [
    `### ${tag}`,
    "",
    `Version ${source.versions[tag]}; Avro record \`${schema.name}\`; frozen: ${frozenVersions(source, tag)}.`,
    ""
  ]
  const doc = docs[schema.name]?.doc
  if (doc !== undefined) out.push(doc, "")
  const nested: Array<AvroRecord> = []
  const named = new Map<string, AvroType>()
  out.push(...fieldTable(schema, docs, nested, named))
  for (let i = 0; i < nested.length; i++) { // renders nested records, in the order they appear
    const record = nested[i]!
    out.push(`#### \`${record.name}\``, "")
    const nestedDoc = docs[record.name]?.doc
    if (nestedDoc !== undefined) out.push(nestedDoc, "")
    out.push(...(record.fields.length === 0 ? ["No fields.", ""] : fieldTable(record, docs, nested, named)))
  }
  return out
}

const fieldTable = (
  record: AvroRecord,
  docs: Readonly<Record<string, RecordDocs>>,
  nested: Array<AvroRecord>,
  named: Map<string, AvroType>
) => [
  "| Field | Avro type | Optional / default | Meaning |",
  "| --- | --- | --- | --- |",
  ...record.fields.map((field) =>
    `| ${field.name} | ${typeName(field.type, nested, named)} | ${presence(field)} | ${cell(meaning(record, field, docs))} |`),
  ""
]

const shortName = (fullName: string) => fullName.slice(fullName.lastIndexOf(".") + 1)

const meaning = (record: AvroRecord, field: AvroField, docs: Readonly<Record<string, RecordDocs>>) =>
  docs[record.name]?.fields[field.name] ?? glossary[`${shortName(record.name)}.${field.name}`] ?? glossary[field.name] ?? ""

const presence = (field: AvroField) => {
  if (field.nullMeans !== undefined) return `default \`${JSON.stringify(field.nullMeans)}\`, written as \`null\``
  const nullable = Array.isArray(field.type) && field.type.includes("null")
  if (field.default !== undefined) return `${nullable ? "nullable, " : ""}default \`${JSON.stringify(field.default)}\``
  return nullable ? "nullable" : "required"
}

/** Markdown for an Avro type; records are collected to be rendered after the table, named types to render references. */
const typeName = (type: AvroType, nested: Array<AvroRecord>, named: Map<string, AvroType>): string => {
  if (typeof type === "string") {
    const definition = named.get(type)
    return definition === undefined || definition === type ? `\`${type}\`` : typeName(definition, nested, named)
  }
  if (isUnion(type)) return type.map((t) => typeName(t, nested, named)).join(" \\| ")
  if ("logicalType" in type && type.type !== "fixed") return `\`${type.logicalType}\` (${type.type})`
  switch (type.type) {
    case "array":
      return `array of ${typeName(type.items, nested, named)}`
    case "enum":
      return `enum ${type.symbols.map((s) => `\`${s}\``).join(" \\| ")}`
    case "fixed":
      named.set(type.name, type)
      return type.logicalType === undefined ? `\`fixed\` (${type.size} bytes)` : `\`${type.logicalType}\` (fixed, ${type.size} bytes)`
    case "record":
      nested.push(type)
      return `[${shortName(type.name)}](#${anchor(type.name)})`
  }
}

const isUnion = (type: AvroType): type is ReadonlyArray<AvroType> => Array.isArray(type)

/** GitHub's heading anchor for a heading that is just the code-formatted name. */
const anchor = (name: string) => name.toLowerCase().replace(/[^a-z0-9 _-]/g, "")

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ")
