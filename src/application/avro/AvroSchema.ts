import avro from "avsc"
import { Option, ParseResult, Schema, SchemaAST as AST } from "effect"
import { isDeepStrictEqual } from "node:util"
import { isCanonicalUuid, uuidFromBytes, uuidToBytes } from "../Uuid.js"

/** Avro schema JSON as derived here and frozen in history.ts: primitives and references are strings. */
export type AvroType = string | AvroRecord | AvroEnum | AvroArray | AvroFixed | AvroLogical | ReadonlyArray<AvroType>
export interface AvroRecord { readonly type: "record"; readonly name: string; readonly fields: ReadonlyArray<AvroField> }
/**
 * `nullMeans`: the field is written as null when it holds its default (the encoded value given),
 * so the default costs one byte; frozen with the schema, so changing the default needs a new version.
 */
export interface AvroField { readonly name: string; readonly type: AvroType; readonly default?: AvroJson; readonly nullMeans?: AvroJson }
export interface AvroEnum { readonly type: "enum"; readonly name: string; readonly symbols: ReadonlyArray<string> }
export interface AvroArray { readonly type: "array"; readonly items: AvroType }
export interface AvroFixed { readonly type: "fixed"; readonly name: string; readonly size: number; readonly logicalType?: string }
/** A primitive with a logical type, such as `{ type: "long", logicalType: "timestamp-millis" }`. */
export interface AvroLogical { readonly type: "int" | "long" | "bytes" | "string"; readonly logicalType: string }
export type AvroJson = null | boolean | number | string | ReadonlyArray<AvroJson> | { readonly [key: string]: AvroJson }

/** The `description` annotations of a derived record (its class) and of its property signatures. */
export interface RecordDocs { readonly doc: string | undefined; readonly fields: Readonly<Record<string, string>> }

export interface DeriveOptions {
  /**
   * Id schemas whose values are usually UUIDs (but need not be): carried as a union of the 16-byte
   * `uuid` fixed, for a UUID in canonical text form, and a string, for any other id.
   */
  readonly uuids?: ReadonlyArray<Schema.Schema.Any>
}

export interface DerivedAvro<I> {
  readonly avro: AvroRecord
  /** The `_tag` literal of the record: implied by the event type, so not stored. */
  readonly tag: string | undefined
  readonly toAvro: (encoded: I) => unknown
  readonly fromAvro: (value: unknown) => I
  /** Keyed by the full name of every record in the schema. */
  readonly docs: Readonly<Record<string, RecordDocs>>
}

/**
 * Derives an Avro record from the encoded side of `schema`. Instants (`Schema.DateTimeUtc`) are
 * `timestamp-millis` longs, the ids named in `options.uuids` a union of a `uuid` fixed and a string.
 * A property's default comes from its `default` annotation (a Type-side value, encoded here), set on
 * the property signature or its schema: `venue: Schema.propertySignature(Venue).annotations({ default: "XNAS" })`.
 * A property that is not nullable is then written as null when it holds its default (`nullMeans`),
 * and bytes that lack the property read as null, that is, as the default. Nullable and optional
 * properties default to null. Throws, naming the path, on anything Avro cannot carry faithfully.
 */
export const deriveAvro = <A, I, R>(schema: Schema.Schema<A, I, R>, name: string, options: DeriveOptions = {}): DerivedAvro<I> => {
  const ctx = newCtx(name, new Set((options.uuids ?? []).map((s) => s.ast)))
  const { ast, info } = unwrap(schema.ast, ctx)
  if (ast._tag !== "TypeLiteral") return fail(ctx, `the top level must be a record, not ${describe(ast)}`)
  const node = record(ast, info, ctx, name)
  try {
    avscType(node.type as AvroRecord)
  } catch (e) {
    fail(ctx, `avsc rejects the derived schema: ${e instanceof Error ? e.message : String(e)}`)
  }
  return {
    avro: node.type as AvroRecord,
    tag: node.tag,
    toAvro: node.to as (encoded: I) => unknown,
    fromAvro: node.from as (value: unknown) => I,
    docs: ctx.docs
  }
}

/** Above zero while a TimestampMillis builds its underlying long, which `typeHook` then makes an ExactLong. */
let buildingTimestamp = 0

/**
 * `timestamp-millis` whose JavaScript value is the ISO-8601 string `Schema.DateTimeUtc` encodes to,
 * so converters pass instants through. It also reads a string, as versions before it wrote instants.
 */
class TimestampMillis extends avro.types.LogicalType {
  constructor(schema: AvscSchema, opts?: unknown) {
    buildingTimestamp += 1
    try {
      super(schema, opts)
    } finally {
      buildingTimestamp -= 1
    }
  }
  protected override _fromValue(millis: number): string {
    return new Date(millis).toISOString()
  }
  // Exact: the text is what `Schema.DateTimeUtc` encodes, `toISOString` of whole milliseconds.
  protected override _toValue(iso: unknown): number {
    const millis = typeof iso === "string" ? Date.parse(iso) : Number.NaN
    if (!Number.isSafeInteger(millis)) throw new Error(`not an ISO-8601 instant: ${String(iso)}`)
    return millis
  }
  protected override _resolve(writer: avro.Type): ((value: unknown) => unknown) | undefined {
    if (avro.Type.isType(writer, "string", "logical:timestamp-millis")) return (value) => value // already ISO text
    if (avro.Type.isType(writer, "long", "abstract:long")) return (value) => this._fromValue(value as number)
    return undefined
  }
}

const TWO_48 = 2 ** 48

/**
 * Avro longs as JavaScript safe integers, exactly: avsc's own long zigzags with float arithmetic and
 * loses precision past ±2^52, which instants reach (DateTime spans ±8.64e15 ms). avsc does the zigzag
 * on the 8 little-endian bytes given here: a signed high 16 bits and an unsigned low 48.
 */
const ExactLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer): number => {
    const n = buf.readInt16LE(6) * TWO_48 + buf.readUIntLE(0, 6)
    if (!Number.isSafeInteger(n)) throw new Error("a long beyond ±2^53 cannot be read exactly")
    return n
  },
  toBuffer: (n: number): Buffer => {
    const buf = Buffer.allocUnsafe(8)
    const high = Math.floor(n / TWO_48)
    buf.writeUIntLE(n - high * TWO_48, 0, 6)
    buf.writeInt16LE(high, 6)
    return buf
  },
  fromJSON: (json: unknown): number => Number(json),
  toJSON: (n: number): number => n,
  isValid: (n: unknown): boolean => Number.isSafeInteger(n),
  compare: (a: number, b: number): number => (a === b ? 0 : a < b ? -1 : 1)
})

/**
 * The avsc Type of a derived (or frozen) schema. Unions of records are wrapped (`{ "<full name>": value }`),
 * `["null", X]` is not: the converters above rely on it. avsc stores a registry in the options, hence fresh ones.
 */
export const avscType = (schema: AvroRecord): avro.Type =>
  avro.Type.forSchema(schema as unknown as AvscSchema, {
    wrapUnions: "auto", noAnonymousTypes: true, logicalTypes: { "timestamp-millis": TimestampMillis },
    typeHook: (declared: unknown) => (buildingTimestamp > 0 && (declared as { type?: unknown }).type === "long" ? ExactLong : undefined)
  })
type AvscSchema = Parameters<typeof avro.Type.forSchema>[0]

const TIMESTAMP_MILLIS: AvroLogical = { type: "long", logicalType: "timestamp-millis" }
const UUID_FIXED: AvroFixed = { type: "fixed", name: "ledgerline.Uuid", size: 16, logicalType: "uuid" }

type Convert = (value: unknown) => unknown
const identity: Convert = (value) => value

interface Node {
  readonly type: AvroType
  readonly to: Convert
  readonly from: Convert
  /** Set on tagged records, the branches of an Avro union. */
  readonly tag?: string
  readonly fullName?: string
}

interface Ctx {
  readonly name: string
  readonly path: string
  /** Full name of the enclosing record: anonymous named types (enums, structs) are named after it. */
  readonly owner: string
  readonly field: string
  readonly named: Map<string, AvroType>
  readonly docs: Record<string, RecordDocs>
  readonly suspended: Set<AST.AST>
  /** The id schemas carried as uuid-or-string. */
  readonly uuids: ReadonlySet<AST.AST>
}

/** What the wrappers around an encoded node say about it (a Class keeps these on its Type side). */
interface Info {
  readonly identifier: string | undefined
  readonly description: string | undefined
  /** The Type side of a struct-level transformation, where property annotations then live. */
  readonly annotatedSide: AST.TypeLiteral | undefined
  readonly renames: ReadonlyMap<PropertyKey, PropertyKey>
}

const newCtx = (name: string, uuids: ReadonlySet<AST.AST> = new Set()): Ctx =>
  ({ name, path: name, owner: name, field: "", named: new Map(), docs: {}, suspended: new Set(), uuids })

const fail = (ctx: Ctx, message: string): never => {
  throw new Error(`deriveAvro(${ctx.name}): ${message} at ${ctx.path}`)
}

const describe = (ast: AST.AST): string => `${ast._tag} (${String(ast)})`

const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const checkName = (ctx: Ctx, name: string, what: string) => {
  if (!AVRO_NAME.test(name)) fail(ctx, `${what} "${name}" is not a valid Avro name`)
  return name
}
const namespaceOf = (fullName: string) => fullName.slice(0, Math.max(0, fullName.lastIndexOf(".")))

/** `Schema.DateTimeUtc`, however annotated: ISO-8601 text on the encoded side of a DateTime.Utc. */
export const isDateTimeUtc = (ast: AST.AST): boolean =>
  ast._tag === "Transformation" && ast.to === Schema.DateTimeUtcFromSelf.ast && ast.from._tag === "StringKeyword"

/** The Avro form of a schema that has one of its own, decided before stepping to its encoded side. */
const representation = (ast: AST.AST, ctx: Ctx): Node | undefined => {
  if (ctx.uuids.has(ast)) {
    return {
      type: [register(ctx, UUID_FIXED.name, UUID_FIXED), "string"],
      to: (id) => (isCanonicalUuid(id as string) ? uuidToBytes(id as string) : id),
      from: (value) => (typeof value === "string" ? value : uuidFromBytes(value as Uint8Array))
    }
  }
  if (isDateTimeUtc(ast)) return { type: TIMESTAMP_MILLIS, to: identity, from: identity } // TimestampMillis converts
  return undefined
}

/**
 * Steps from a schema to its encoded side, keeping the identifier and description found on the way;
 * stops early, with `leaf`, at a schema that has an Avro form of its own.
 */
const unwrap = (start: AST.AST, ctx: Ctx): {
  readonly ast: AST.AST
  readonly info: Info
  readonly entered: ReadonlyArray<AST.AST>
  readonly leaf?: Node
} => {
  let ast = start
  let identifier: string | undefined
  let description: string | undefined
  let annotatedSide: AST.TypeLiteral | undefined
  let renames: ReadonlyMap<PropertyKey, PropertyKey> = new Map()
  const entered: Array<AST.AST> = []
  const note = (annotated: AST.Annotated) => {
    identifier ??= Option.getOrUndefined(AST.getIdentifierAnnotation(annotated))
  }
  for (;;) {
    const leaf = representation(ast, ctx)
    if (leaf !== undefined) return { ast, info: { identifier, description, annotatedSide, renames }, entered, leaf }
    switch (ast._tag) {
      case "Transformation": {
        note(ast)
        if (ast.to._tag === "Declaration") { // a Class: its identifier and description are on the Type side
          note(ast.to)
          description ??= Option.getOrUndefined(AST.getDescriptionAnnotation(ast.to))
        }
        if (ast.to._tag === "TypeLiteral") {
          annotatedSide = ast.to
          renames = AST.isTypeLiteralTransformation(ast.transformation)
            ? new Map(ast.transformation.propertySignatureTransformations.map((t) => [t.from, t.to]))
            : new Map()
        }
        ast = ast.from
        continue
      }
      case "Refinement":
        note(ast)
        ast = ast.from
        continue
      case "Suspend":
        if (ctx.suspended.has(ast)) fail(ctx, "recursive schemas are not supported")
        ctx.suspended.add(ast)
        entered.push(ast)
        ast = ast.f()
        continue
      default:
        if (ast._tag === "TypeLiteral") {
          note(ast)
          description ??= Option.getOrUndefined(AST.getDescriptionAnnotation(ast))
        }
        return { ast, info: { identifier, description, annotatedSide, renames }, entered }
    }
  }
}

const walk = (start: AST.AST, ctx: Ctx): Node => {
  const { ast, entered, info, leaf } = unwrap(start, ctx)
  try {
    return leaf ?? walkEncoded(ast, info, ctx)
  } finally {
    for (const s of entered) ctx.suspended.delete(s) // only a schema that contains itself is recursive
  }
}

const walkEncoded = (ast: AST.AST, info: Info, ctx: Ctx): Node => {
  switch (ast._tag) {
    case "StringKeyword":
    case "TemplateLiteral":
      return { type: "string", to: identity, from: identity }
    case "NumberKeyword":
      return { type: "double", to: identity, from: identity }
    case "BooleanKeyword":
      return { type: "boolean", to: identity, from: identity }
    case "Literal":
    case "Union":
      return union(ast._tag === "Union" ? ast.types : [ast], ctx)
    case "TupleType": {
      if (ast.elements.length > 0 || ast.rest.length !== 1) fail(ctx, `tuples are not supported: ${describe(ast)}`)
      const items = walk(ast.rest[0]!.type, { ...ctx, path: `${ctx.path}[]` })
      const mapWith = (f: Convert): Convert => (value) => (value as ReadonlyArray<unknown>).map(f)
      return {
        type: { type: "array", items: items.type },
        to: items.to === identity ? identity : mapWith(items.to),
        from: items.from === identity ? identity : mapWith(items.from)
      }
    }
    case "TypeLiteral": {
      const tag = tagOf(ast)
      const label = tag ?? info.identifier
      const fullName = label === undefined
        ? `${ctx.owner}.${checkName(ctx, ctx.field, "field")}`
        : [namespaceOf(ctx.owner), ctx.field, checkName(ctx, label, "tag or identifier")].filter((s) => s !== "").join(".")
      return record(ast, info, ctx, fullName)
    }
    default:
      return fail(ctx, `${describe(ast)} has no Avro counterpart`)
  }
}

/** The `_tag` literal on the encoded side of a schema (a tagged class or struct), if any. */
export const encodedTag = (schema: Schema.Schema.AnyNoContext): string | undefined => {
  const { ast } = unwrap(schema.ast, newCtx("encodedTag"))
  return AST.isTypeLiteral(ast) ? tagOf(ast) : undefined
}

const tagOf = (ast: AST.TypeLiteral): string | undefined => {
  const tag = ast.propertySignatures.find((ps) => ps.name === "_tag")
  return tag !== undefined && AST.isLiteral(tag.type) && typeof tag.type.literal === "string" ? tag.type.literal : undefined
}

const record = (ast: AST.TypeLiteral, info: Info, ctx: Ctx, fullName: string): Node => {
  if (ast.indexSignatures.length > 0) fail(ctx, "index signatures (records, maps) are not supported")
  for (const part of fullName.split(".")) checkName(ctx, part, "name part")
  const tag = tagOf(ast)
  const fields: Array<AvroField> = []
  const converters: Array<{ readonly name: string; readonly optional: boolean; readonly to: Convert; readonly from: Convert }> = []
  const docs: Record<string, string> = {}
  for (const ps of ast.propertySignatures) {
    if (ps.name === "_tag" && tag !== undefined) continue
    if (typeof ps.name !== "string") fail(ctx, `symbol keys are not supported (${String(ps.name)})`)
    const name = checkName(ctx, ps.name as string, "field")
    const fieldCtx: Ctx = { ...ctx, path: `${ctx.path}.${name}`, owner: fullName, field: name }
    const typeSide = info.annotatedSide?.propertySignatures.find((p) => p.name === (info.renames.get(name) ?? name))
    const annotations = { ...typeSide?.annotations, ...ps.annotations }
    const { node, default: avroDefault, nullMeans } = defaultOf(ps, annotations, field(ps, fieldCtx), fieldCtx)
    fields.push({
      name,
      type: node.type,
      ...(avroDefault === undefined ? {} : { default: avroDefault }),
      ...(nullMeans === undefined ? {} : { nullMeans })
    })
    converters.push({ name, optional: ps.isOptional, to: node.to, from: node.from })
    const description = AST.getDescriptionAnnotation({ annotations })
    if (Option.isSome(description)) docs[name] = description.value
  }
  const type = register(ctx, fullName, { type: "record", name: fullName, fields })
  ctx.docs[fullName] = { doc: info.description, fields: docs }
  const to: Convert = (value) => {
    const input = value as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const c of converters) out[c.name] = c.to(input[c.name])
    return out
  }
  const from: Convert = (value) => {
    const input = value as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const c of converters) {
      const v = c.from(input[c.name])
      if (!(c.optional && v === null)) out[c.name] = v
    }
    if (tag !== undefined) out._tag = tag
    return out
  }
  return tag === undefined ? { type, to, from, fullName } : { type, to, from, tag, fullName }
}

/** An optional property is carried as nullable: absent ⇄ null. */
const field = (ps: AST.PropertySignature, ctx: Ctx): Node => {
  if (!ps.isOptional) return walk(ps.type, ctx)
  const members = flatten([ps.type], ctx).filter((t) => t._tag !== "UndefinedKeyword")
  if (members.some((t) => AST.isLiteral(t) && t.literal === null)) {
    fail(ctx, "an optional property that may also be null is ambiguous (absent and null would both be Avro null)")
  }
  const node = union([...members, new AST.Literal(null)], ctx)
  return { ...node, to: (value) => node.to(value === undefined ? null : value) }
}

/** The members of nested unions (`NullOr(Union(A, B))`), as one list. */
const flatten = (members: ReadonlyArray<AST.AST>, ctx: Ctx): ReadonlyArray<AST.AST> =>
  members.flatMap((member) => {
    const { ast, entered, leaf } = unwrap(member, ctx)
    for (const s of entered) ctx.suspended.delete(s)
    return leaf === undefined && ast._tag === "Union" ? flatten(ast.types, ctx) : [member]
  })

const union = (nested: ReadonlyArray<AST.AST>, ctx: Ctx): Node => {
  const members = flatten(nested, ctx)
  const nullable = members.some((t) => AST.isLiteral(t) && t.literal === null)
  const rest = members.filter((t) => !(AST.isLiteral(t) && t.literal === null))
  if (rest.some((t) => t._tag === "UndefinedKeyword")) fail(ctx, "undefined is only supported on optional properties")
  if (rest.length === 0) return { type: "null", to: identity, from: identity }
  const literals = rest.filter(AST.isLiteral)
  let branches: ReadonlyArray<Node>
  if (literals.length === rest.length) {
    const values = literals.map((l) => l.literal)
    if (values.every((v) => typeof v === "boolean")) {
      branches = [{ type: "boolean", to: identity, from: identity }]
    } else if (values.every((v) => typeof v === "string")) {
      const symbols = (values as ReadonlyArray<string>).map((s) => checkName(ctx, s, "enum symbol"))
      const fullName = `${ctx.owner}.${checkName(ctx, ctx.field, "field")}`
      branches = [{ type: register(ctx, fullName, { type: "enum", name: fullName, symbols }), to: identity, from: identity }]
    } else {
      return fail(ctx, `only string or boolean literals are supported, not ${values.map((v) => JSON.stringify(String(v))).join(" | ")}`)
    }
  } else {
    if (literals.length > 0) fail(ctx, "a union mixing literals with other types is not supported")
    branches = rest.map((t) => walk(t, ctx))
  }
  if (branches.length === 1) return nullable ? nullableOf(branches[0]!) : branches[0]!
  return taggedUnion(branches, nullable, ctx)
}

/** `["null", X]` (or null and X's branches): avsc leaves it unwrapped, so values pass through as null or X's value. */
const nullableOf = (node: Node): Node => {
  if (isUnion(node.type) && node.type.includes("null")) throw new Error("unreachable: null twice in a union")
  return {
    type: isUnion(node.type) ? ["null", ...node.type] : ["null", node.type],
    to: node.to === identity ? identity : (value) => (value === null ? null : node.to(value)),
    from: node.from === identity ? identity : (value) => (value === null ? null : node.from(value))
  }
}

/** A union of tagged records: avsc wraps it, `{ "<full name>": record }`, and `_tag` picks the branch. */
const taggedUnion = (branches: ReadonlyArray<Node>, nullable: boolean, ctx: Ctx): Node => {
  const byTag = new Map<string, Node>()
  const byName = new Map<string, Node>()
  for (const b of branches) {
    if (b.tag === undefined || b.fullName === undefined) {
      return fail(ctx, `a union may hold null, one other type, or records tagged by a literal _tag; got ${JSON.stringify(b.type)}`)
    }
    if (byTag.has(b.tag)) fail(ctx, `two union members share the tag ${b.tag}`)
    byTag.set(b.tag, b)
    byName.set(b.fullName, b)
  }
  return {
    type: nullable ? ["null", ...branches.map((b) => b.type)] : branches.map((b) => b.type),
    to: (value) => {
      if (value === null) return null
      const branch = byTag.get((value as { readonly _tag: string })._tag)
      if (branch === undefined) throw new Error(`no Avro branch for _tag ${String((value as { readonly _tag: unknown })._tag)}`)
      return { [branch.fullName!]: branch.to(value) }
    },
    from: (value) => {
      if (value === null) return null
      for (const key in value as object) {
        const branch = byName.get(key)
        if (branch !== undefined) return branch.from((value as Record<string, unknown>)[key])
      }
      throw new Error(`unknown Avro union branch ${Object.keys(value as object).join(", ")}`)
    }
  }
}

/** Defines a named type once; a second occurrence becomes a reference by name, if it is the same type. */
const register = (ctx: Ctx, fullName: string, type: AvroRecord | AvroEnum | AvroFixed): AvroType => {
  const existing = ctx.named.get(fullName)
  if (existing === undefined) {
    ctx.named.set(fullName, type)
    return type
  }
  if (!isDeepStrictEqual(existing, type)) fail(ctx, `two different types would both be named ${fullName}`)
  return fullName
}

const isUnion = (type: AvroType): type is ReadonlyArray<AvroType> => Array.isArray(type)

const defaultOf = (
  ps: AST.PropertySignature,
  annotations: AST.Annotations,
  node: Node,
  ctx: Ctx
): { readonly node: Node; readonly default: AvroJson | undefined; readonly nullMeans?: AvroJson } => {
  const nullable = isUnion(node.type) && node.type[0] === "null"
  const declared = Option.orElse(AST.getDefaultAnnotation({ annotations }), () => AST.getDefaultAnnotation(ps.type))
  if (Option.isNone(declared)) return { node, default: nullable ? null : undefined }
  let encoded: unknown
  try {
    encoded = ParseResult.encodeUnknownSync(Schema.make(ps.type))(declared.value)
  } catch (e) {
    return fail(ctx, `the default annotation does not encode: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (encoded === null) {
    if (!nullable) fail(ctx, "a null default needs a nullable property")
    return { node, default: null }
  }
  if (!nullable || !isUnion(node.type)) {
    // null is free to stand for the default: it costs one byte, and bytes without the field read as it
    const written = nullableOf(node)
    return {
      node: {
        type: written.type,
        to: (value) => (isDeepStrictEqual(value, encoded) ? null : node.to(value)),
        from: (value) => (value === null ? encoded : node.from(value))
      },
      default: null,
      nullMeans: encoded as AvroJson
    }
  }
  // Avro takes a union's default from its first branch: put the defaulted branch first.
  if (node.type.length !== 2) return fail(ctx, "a non-null default on a union of records is not supported")
  return { node: { ...node, type: [node.type[1]!, "null"] }, default: node.to(encoded) as AvroJson }
}
