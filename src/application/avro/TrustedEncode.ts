import { Either, ParseResult, Schema, SchemaAST as AST } from "effect"
import { identity, isPlain, type Step as Encode, tagOf, typeLiteral } from "./TrustedAst.js"

/**
 * An encoder from the Type side of `schema` to its encoded side for values the domain made: the
 * events a decider decided. It applies every transformation (decimals to text, instants, Options,
 * classes to plain structs), as `Schema.encodeSync` does, but skips the checks that only validate
 * (refinements such as an id's length, the Type-side declarations): the decider checked what it
 * put in the event, and the event's constructor already skips them (TradingAccount, Market). The
 * mirror of TrustedDecode. Any node it does not know is encoded by Schema itself, so the result is
 * always what Schema would give for a valid value.
 */
export const trustedEncoder = <A, I>(schema: Schema.Schema<A, I>): (value: A) => I => compile(schema.ast) as (value: A) => I

const bySchema = (ast: AST.AST): Encode => {
  const encode = ParseResult.encodeUnknownSync(Schema.make(ast))
  return (u) => encode(u)
}

const compile = (ast: AST.AST): Encode => {
  switch (ast._tag) {
    case "StringKeyword":
    case "NumberKeyword":
    case "BooleanKeyword":
    case "Literal":
    case "TemplateLiteral":
    case "Enums":
      return identity
    case "Refinement":
      // a check the value passed when it was made
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

/**
 * Literals and keywords pass as they are; `X | null` (an Option's encoded side) encodes X unless
 * null; tagged structs go to the member of their `_tag`; anything else to Schema.
 */
const union = (ast: AST.Union): Encode => {
  if (ast.types.every(isPlain)) return identity
  const members = ast.types.filter((t) => !(AST.isLiteral(t) && t.literal === null))
  const nullable = members.length < ast.types.length
  if (members.length === 1) {
    const encode = compile(members[0]!)
    return nullable ? (u) => u === null ? null : encode(u) : encode
  }
  const byTag = new Map<unknown, Encode>()
  for (const member of members) {
    const tag = tagOf(member)
    if (tag === undefined || byTag.has(tag)) return bySchema(ast)
    byTag.set(tag, compile(member))
  }
  const fallback = bySchema(ast)
  return (u) => {
    if (u === null && nullable) return null
    const encode = typeof u === "object" && u !== null ? byTag.get((u as { readonly _tag?: unknown })._tag) : undefined
    return encode === undefined ? fallback(u) : encode(u)
  }
}

const OPTIONS: AST.ParseOptions = {}

/**
 * A transformation whose encode step is a plain function of the value (decimals, instants,
 * Options, classes) runs here, then the `from` side's encoder; struct-to-struct transformations
 * (renamed keys) and effectful ones go to Schema.
 */
const transformation = (ast: AST.Transformation): Encode => {
  if (ast.transformation._tag !== "FinalTransformation") return bySchema(ast)
  const from = compile(ast.from)
  // a Type side that is a declaration (a class, BigDecimal, DateTime, Option) only validates
  const to = ast.to._tag === "Declaration" || isPlain(ast.to) ? identity : compile(ast.to)
  const step = ast.transformation.encode
  const fallback = bySchema(ast)
  return (u) => {
    const result = step(to(u), OPTIONS, ast, u)
    return Either.isEither(result) && Either.isRight(result) ? from(result.right) : fallback(u)
  }
}
