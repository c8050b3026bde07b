import { Either, ParseResult, Schema, SchemaAST as AST } from "effect"
import { identity, isPlain, type Step as Decode, tagOf, typeLiteral } from "./TrustedAst.js"

/**
 * A decoder from the encoded side of `schema` to its Type side for values this codec wrote itself:
 * stored events, whose bytes the hash chain vouches for. It applies every transformation (decimals
 * from text, instants, Options, classes), as `Schema.decodeUnknownSync` does, but skips the checks
 * that only validate (refinements such as an id's length, the Type-side declarations), which the
 * events passed when they were made. About three times faster on a fill. Any node it does not
 * know is decoded by Schema itself, so the result is always the same value Schema would give.
 */
export const trustedDecoder = <A, I>(schema: Schema.Schema<A, I>): (encoded: I) => A => compile(schema.ast) as (encoded: I) => A

const bySchema = (ast: AST.AST): Decode => {
  const decode = ParseResult.decodeUnknownSync(Schema.make(ast))
  return (u) => decode(u)
}

const compile = (ast: AST.AST): Decode => {
  switch (ast._tag) {
    case "StringKeyword":
    case "NumberKeyword":
    case "BooleanKeyword":
    case "Literal":
    case "TemplateLiteral":
    case "Enums":
      return identity
    case "Refinement":
      // a check the event passed when it was made
      return compile(ast.from)
    case "Union":
      return union(ast)
    case "TypeLiteral":
      return typeLiteral(ast, compile, bySchema)
    case "Transformation":
      return transformation(ast)
    default:
      return bySchema(ast)
  }
}

/** Literals and keywords pass as they are; tagged structs go to the member of their `_tag`; anything else to Schema. */
const union = (ast: AST.Union): Decode => {
  if (ast.types.every(isPlain)) return identity
  const byTag = new Map<unknown, Decode>()
  let nullable = false
  for (const member of ast.types) {
    if (AST.isLiteral(member) && member.literal === null) {
      nullable = true
      continue
    }
    const tag = tagOf(member)
    if (tag === undefined || byTag.has(tag)) return bySchema(ast)
    byTag.set(tag, compile(member))
  }
  const fallback = bySchema(ast)
  return (u) => {
    if (u === null && nullable) return null
    const decode = typeof u === "object" && u !== null ? byTag.get((u as { readonly _tag?: unknown })._tag) : undefined
    return decode === undefined ? fallback(u) : decode(u)
  }
}

const OPTIONS: AST.ParseOptions = {}

/**
 * A transformation whose decode step is a plain function of the decoded `from` side (decimals,
 * instants, Options, class constructors) runs here; the Type side it lands on is not validated
 * again. Struct-to-struct transformations (renamed keys) and effectful ones go to Schema.
 */
const transformation = (ast: AST.Transformation): Decode => {
  if (ast.transformation._tag !== "FinalTransformation") return bySchema(ast)
  const from = compile(ast.from)
  const decode = decodeStep(ast)
  const fallback = bySchema(ast)
  return (u) => {
    const value = decode(from(u), u)
    return value === Refused ? fallback(u) : value
  }
}

/** What `decodeStep` answers when the step does not succeed at once: the caller falls back. */
export const Refused: unique symbol = Symbol("ledgerline/TrustedDecode/Refused")

/**
 * The decode step of a final transformation (`ast.transformation` must be one) applied to its
 * decoded `from` side, given with the encoded input it came from; Schema classes are built alike
 * once the first has been made (`classBuilder`). TrustedDecode and DirectDecode share it.
 */
export const decodeStep = (ast: AST.Transformation): (props: unknown, input: unknown) => unknown => {
  const step = (ast.transformation as AST.FinalTransformation).decode
  const construct = ast.to._tag === "Declaration" ? classBuilder() : undefined
  return (props, input) => {
    const built = construct?.fast(props)
    if (built !== undefined) return built
    const result = step(props, OPTIONS, ast, input)
    if (!(Either.isEither(result) && Either.isRight(result))) return Refused
    construct?.learn(props, result.right)
    return result.right
  }
}

/**
 * Schema classes: the constructor (`new C(props, true)`) copies, drops and re-adds `_tag`, merges
 * defaults and assigns, about 3 µs a fill. Once one instance has been made by the constructor, the
 * next ones with exactly the same keys are built the way it builds them: the same prototype, the
 * same own keys in the same order (`_tag` with its one value), plain assignment. Errors (which
 * carry a stack) and anything with other own keys keep going through the constructor.
 */
const classBuilder = () => {
  let shape: ClassShape | null | undefined
  return {
    learn: (props: unknown, instance: unknown) => {
      if (shape === undefined) shape = shapeOf(props, instance)
    },
    fast: (props: unknown): unknown => {
      if (shape === undefined || shape === null || typeof props !== "object" || props === null) return undefined
      const input = props as Record<string, unknown>
      let count = 0
      for (const k in input) if (k !== "_tag") count++
      const expected = shape.tag === undefined ? shape.keys.length : shape.keys.length - 1
      if (count !== expected) return undefined
      const out = Object.create(shape.prototype) as Record<string, unknown>
      for (const k of shape.keys) {
        if (k === "_tag") {
          out._tag = shape.tag
          continue
        }
        if (!(k in input)) return undefined
        out[k] = input[k]
      }
      return out
    }
  }
}

/** How a class's constructor laid out an instance: its prototype, its own keys in order, and its `_tag`. */
export interface ClassShape {
  readonly prototype: object
  readonly keys: ReadonlyArray<string>
  readonly tag: unknown
}

/**
 * The shape of `instance`, which the constructor made from `props`, when the next ones can be built
 * by assignment: own string keys holding exactly the props' values (`_tag` aside), every prop kept,
 * and no Error (which carries a stack). Else null.
 */
export const shapeOf = (props: unknown, instance: unknown): ClassShape | null => {
  if (typeof props !== "object" || props === null) return null
  if (typeof instance !== "object" || instance === null || instance instanceof Error) return null
  const keys = Reflect.ownKeys(instance)
  if (keys.some((k) => typeof k !== "string")) return null
  const input = props as Record<string, unknown>
  const own = instance as Record<string, unknown>
  if (!keys.every((k) => k === "_tag" || Object.is(own[k as string], input[k as string]))) return null
  if (Object.keys(input).some((k) => k !== "_tag" && !keys.includes(k))) return null
  return { prototype: Object.getPrototypeOf(instance) as object, keys: keys as Array<string>, tag: own._tag }
}
