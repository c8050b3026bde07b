import type { SchemaAST as AST } from "effect"

/**
 * What the trusted decoder and encoder (TrustedDecode, TrustedEncode) share: both walk a Schema's
 * AST once into a plain function, in opposite directions, over the same shapes.
 */
export type Step = (value: unknown) => unknown

export const identity: Step = (u) => u

/** A literal or a string, number or boolean keyword: the same value on both sides. */
export const isPlain = (ast: AST.AST): boolean =>
  ast._tag === "Literal" || ast._tag === "StringKeyword" || ast._tag === "NumberKeyword" || ast._tag === "BooleanKeyword"

/** The literal `_tag` of a member, when it is a struct or class with one (the same on both sides). */
export const tagOf = (ast: AST.AST): unknown => {
  let node = ast
  while (node._tag === "Transformation" || node._tag === "Refinement") node = node.from
  if (node._tag !== "TypeLiteral") return undefined
  const tag = node.propertySignatures.find((ps) => ps.name === "_tag")
  return tag !== undefined && tag.type._tag === "Literal" ? tag.type.literal : undefined
}

/** A struct field by field with `compile`'s step for each; one with index signatures goes to `fallback`. */
export const typeLiteral = (ast: AST.TypeLiteral, compile: (ast: AST.AST) => Step, fallback: (ast: AST.AST) => Step): Step => {
  if (ast.indexSignatures.length > 0) return fallback(ast)
  const fields = ast.propertySignatures.map((ps) => ({ name: ps.name, optional: ps.isOptional, step: compile(ps.type) }))
  return (u) => {
    const input = u as Record<PropertyKey, unknown>
    const out: Record<PropertyKey, unknown> = {}
    for (const f of fields) {
      const value = input[f.name]
      if (value === undefined && f.optional && !(f.name in input)) continue
      out[f.name] = f.step(value)
    }
    return out
  }
}
