import type avro from "avsc"
import { Schema, SchemaAST as AST } from "effect"
import { isDeepStrictEqual } from "node:util"
import { type AvroRecord, avscType, deriveAvro, encodedTag, type RecordDocs } from "./AvroSchema.js"
import { directDecoder } from "./DirectDecode.js"
import { trustedDecoder } from "./TrustedDecode.js"
import { trustedEncoder } from "./TrustedEncode.js"

/** Frozen Avro schemas of past versions, by event type and schema version. */
export type EventHistory<Tag extends string = string> = { readonly [T in Tag]: Readonly<Record<number, AvroRecord>> }

/** Rewrites an Avro value, already resolved to the current shape, from one version's meaning to the next. */
export type Upcaster = (value: unknown) => unknown
/** By event type, the upcaster from each version that changed meaning to the version after it. */
export type Upcasters<Tag extends string = string> = { readonly [T in Tag]?: Readonly<Record<number, Upcaster>> }

export interface EncodedEvent { readonly type: string; readonly schemaVersion: number; readonly data: Uint8Array }

export interface EventCodec<E extends { readonly _tag: string }> {
  readonly name: string
  readonly versions: Readonly<Record<E["_tag"], number>>
  readonly history: EventHistory<E["_tag"]>
  /** The current Avro schema of each event type, derived from its Effect Schema. */
  readonly avroSchemas: Readonly<Record<E["_tag"], AvroRecord>>
  /** The `description` annotations of each event type's records, for the catalog. */
  readonly docs: Readonly<Record<E["_tag"], Readonly<Record<string, RecordDocs>>>>
  readonly encode: (event: E) => EncodedEvent
  /**
   * Reads an event written at any known version; throws (a defect) on an unknown type or version.
   * Applies the Schema's transformations but not its validating checks (TrustedDecode).
   */
  readonly decode: (type: string, schemaVersion: number, data: Uint8Array) => E
}

export interface EventCodecOptions<E extends { readonly _tag: string }, I> {
  /** The aggregate's name, for messages and the catalog. */
  readonly name: string
  /** The union of the event classes. */
  readonly schema: Schema.Schema<E, I>
  readonly versions: Readonly<Record<E["_tag"], number>>
  readonly history: EventHistory<E["_tag"]>
  readonly upcasters?: Upcasters<E["_tag"]>
  /** Avro namespace of the event records: `<namespace>.<tag>`. */
  readonly namespace?: string
  /** Id schemas whose values are usually UUIDs: written as 16 bytes when they are one (`DeriveOptions.uuids`). */
  readonly uuids?: ReadonlyArray<Schema.Schema.Any>
}

type Resolver = ReturnType<avro.Type["createResolver"]>

interface Reader {
  /** None when the bytes were written with the current schema. */
  readonly resolver: Resolver | undefined
  readonly upcasters: ReadonlyArray<Upcaster>
}

interface Entry {
  readonly version: number
  readonly type: avro.Type
  readonly toAvro: (encoded: unknown) => unknown
  readonly fromAvro: (value: unknown) => unknown
  readonly encode: (event: unknown) => unknown
  readonly decode: (encoded: unknown) => unknown
  /** Bytes of the current version straight to the event, when the type's shape allows (DirectDecode). */
  readonly direct: ((bytes: Buffer) => unknown) | undefined
  readonly readers: ReadonlyMap<number, Reader>
}

/**
 * Avro payloads for an aggregate's events. Everything is derived and resolved once, here: an old
 * version that the current schema cannot read, or a misplaced upcaster, fails at construction.
 */
export const makeEventCodec = <E extends { readonly _tag: string }, I>(
  options: EventCodecOptions<E, I>
): EventCodec<E> => {
  const { name } = options
  const namespace = options.namespace ?? "ledgerline"
  const versions: Readonly<Record<string, number>> = options.versions
  const history: Readonly<Record<string, Readonly<Record<number, AvroRecord>> | undefined>> = options.history
  const upcasters: Readonly<Record<string, Readonly<Record<number, Upcaster>> | undefined>> = options.upcasters ?? {}
  const entries = new Map<string, Entry>()
  const avroSchemas: Record<string, AvroRecord> = {}
  const docs: Record<string, Readonly<Record<string, RecordDocs>>> = {}
  const problem = (message: string) => new Error(`${name} event codec: ${message}`)
  const uuids = new Set((options.uuids ?? []).map((s) => s.ast))

  for (const ast of AST.isUnion(options.schema.ast) ? options.schema.ast.types : [options.schema.ast]) {
    const member = Schema.make<unknown, unknown, never>(ast)
    const tag = encodedTag(member)
    if (tag === undefined) throw problem(`every event needs a literal _tag: ${String(ast)}`)
    if (entries.has(tag)) throw problem(`two event types share the tag ${tag}`)
    const version = versions[tag]
    if (version === undefined || !Number.isSafeInteger(version) || version < 1) {
      throw problem(`${tag} needs a schema version (a positive integer), not ${String(version)}`)
    }
    const derived = deriveAvro(member, `${namespace}.${tag}`, { uuids: options.uuids ?? [] })
    const type = avscType(derived.avro)
    const frozen = history[tag] ?? {}
    const ups = upcasters[tag] ?? {}
    for (const v of Object.keys(frozen).map(Number)) {
      if (!(Number.isSafeInteger(v) && v >= 1 && v <= version)) {
        throw problem(`${tag} has a frozen v${v} but its current version is ${version}: bump the version`)
      }
    }
    for (const v of Object.keys(ups).map(Number)) {
      if (!(Number.isSafeInteger(v) && v >= 1 && v < version)) {
        throw problem(`${tag} has an upcaster from v${v}, but only v1..v${version - 1} can be upcast to v${version}`)
      }
    }
    const chainFrom = (from: number) =>
      Array.from({ length: version - from }, (_, i) => ups[from + i]).filter((u): u is Upcaster => u !== undefined)
    const readers = new Map<number, Reader>([[version, { resolver: undefined, upcasters: [] }]])
    for (const [v, schema] of Object.entries(frozen)) {
      const writer = Number(v)
      if (writer === version) continue // read with the derived schema itself; assertHistoryCurrent checks the two agree
      try {
        readers.set(writer, { resolver: type.createResolver(avscType(schema)), upcasters: chainFrom(writer) })
      } catch (e) {
        throw problem(`${tag} v${writer} cannot be read as v${version}: ${e instanceof Error ? e.message : String(e)}`)
      }
    }
    entries.set(tag, {
      version, type, toAvro: derived.toAvro, fromAvro: derived.fromAvro,
      encode: trustedEncoder(member), decode: trustedDecoder(member), direct: directDecoder(member, derived.avro, uuids), readers
    })
    avroSchemas[tag] = derived.avro
    docs[tag] = derived.docs
  }
  for (const tag of Object.keys(versions)) {
    if (!entries.has(tag)) throw problem(`a version is given for ${tag}, which is not an event of the schema`)
  }

  return {
    name,
    versions: options.versions,
    history: options.history,
    avroSchemas: avroSchemas as Record<E["_tag"], AvroRecord>,
    docs: docs as Record<E["_tag"], Readonly<Record<string, RecordDocs>>>,
    encode: (event) => {
      const entry = entries.get(event._tag)
      if (entry === undefined) throw problem(`unknown event type "${event._tag}"`)
      return { type: event._tag, schemaVersion: entry.version, data: entry.type.toBuffer(entry.toAvro(entry.encode(event))) }
    },
    decode: (type, schemaVersion, data) => {
      const entry = entries.get(type)
      if (entry === undefined) throw problem(`unknown event type "${type}"`)
      const reader = entry.readers.get(schemaVersion)
      if (reader === undefined) {
        throw problem(`unknown schema version ${schemaVersion} of ${type} (known: ${[...entry.readers.keys()].sort((a, b) => a - b).join(", ")})`)
      }
      const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      if (reader.resolver === undefined && reader.upcasters.length === 0 && entry.direct !== undefined) {
        const event = entry.direct(bytes)
        if (event !== undefined) return event as E
      }
      let value: unknown = reader.resolver === undefined ? entry.type.fromBuffer(bytes) : entry.type.fromBuffer(bytes, reader.resolver)
      for (const upcast of reader.upcasters) value = upcast(value)
      return entry.decode(entry.fromAvro(value)) as E
    }
  }
}

/**
 * Fails unless each type's frozen schema at its current version is the one derived now: an event
 * Schema changed without a version bump (and the new schema frozen) would otherwise go unnoticed.
 */
export const assertHistoryCurrent = <E extends { readonly _tag: string }>(codec: EventCodec<E>): void => {
  const history: Readonly<Record<string, Readonly<Record<number, AvroRecord>> | undefined>> = codec.history
  const derived: Readonly<Record<string, AvroRecord>> = codec.avroSchemas
  const problems: Array<string> = []
  for (const [tag, version] of Object.entries<number>(codec.versions)) {
    const frozen = history[tag]?.[version]
    const current = JSON.stringify(derived[tag])
    if (frozen === undefined) {
      problems.push(`${tag} v${version} is not frozen: add it to the history as ${version}: ${current}`)
    } else if (!isDeepStrictEqual(frozen, derived[tag])) {
      problems.push(
        `${tag} no longer matches its frozen v${version}: bump its version to ${version + 1}, freeze ${version + 1}: ${current}` +
          ` (and add an upcaster from v${version} if the meaning changed)`
      )
    }
  }
  if (problems.length > 0) throw new Error(`${codec.name} event history is stale:\n- ${problems.join("\n- ")}`)
}
