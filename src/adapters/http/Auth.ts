import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Clock, Context, Effect, Layer, Redacted, Schema } from "effect"
import { jwtVerify, SignJWT } from "jose"
import { webcrypto } from "node:crypto"
import { Unauthorized } from "./ApiErrors.js"

export const Role = Schema.Literal("trader", "risk", "auditor", "admin")
export type Role = typeof Role.Type

/** Who is calling: the token's `sub` and `roles`. */
export class CurrentUser extends Context.Tag("ledgerline/CurrentUser")<CurrentUser, {
  readonly userId: string
  readonly roles: ReadonlyArray<Role>
}>() {}

export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("ledgerline/Authentication", {
  failure: Unauthorized,
  provides: CurrentUser,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/** The HS256 secret: the UTF-8 bytes of LEDGERLINE_JWT_SECRET. */
export class JwtSecret extends Context.Tag("ledgerline/JwtSecret")<JwtSecret, Redacted.Redacted<string>>() {}

const Claims = Schema.Struct({ sub: Schema.NonEmptyString, roles: Schema.Array(Role), exp: Schema.Number })
const decodeClaims = Schema.decodeUnknown(Claims)
const key = (secret: Redacted.Redacted<string>) => new TextEncoder().encode(Redacted.value(secret))
const unauthorized = (message: string) => new Unauthorized({ code: "UNAUTHORIZED", message })

/** Verified tokens remembered before the oldest is forgotten (a client reuses its token for many requests). */
export const VERIFIED_TOKENS_KEPT = 10_000

interface Verified {
  readonly user: Context.Tag.Service<CurrentUser>
  /** The token's `exp`, in seconds since the epoch. */
  readonly exp: number
}

/**
 * The bearer check: HS256 only, `exp` required and enforced, `sub` and `roles` present. A token
 * that verified is remembered (keyed by the whole token, signature included) until its `exp`, so a
 * client's next requests skip the HMAC; an expired one is refused even if remembered.
 */
export const verifier = Effect.gen(function*() {
  const secret = yield* JwtSecret
  // imported once, not on every verification
  const hmac = yield* Effect.promise(() =>
    webcrypto.subtle.importKey("raw", key(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]))
  const verified = new Map<string, Verified>()

  const verify = (token: string, now: number) =>
    Effect.tryPromise({
      try: () => jwtVerify(token, hmac, { algorithms: ["HS256"], requiredClaims: ["exp", "sub"], currentDate: new Date(now) }),
      catch: (e) => unauthorized(`invalid token: ${e instanceof Error ? e.message : String(e)}`)
    }).pipe(
      Effect.flatMap(({ payload }) =>
        decodeClaims(payload).pipe(Effect.mapError(() => unauthorized("the token needs sub and roles (trader, risk, auditor, admin)")))),
      Effect.map((claims) => {
        // it passed `nbf` (if any) and has not expired: it stays valid until `exp`
        const entry: Verified = { user: { userId: claims.sub, roles: claims.roles }, exp: claims.exp }
        if (verified.size >= VERIFIED_TOKENS_KEPT) verified.delete(verified.keys().next().value!)
        verified.set(token, entry)
        return entry.user
      })
    )

  return (token: string): Effect.Effect<Context.Tag.Service<CurrentUser>, Unauthorized> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const known = verified.get(token)
      // jose's rule: expired once `exp` <= now, in whole seconds
      if (known !== undefined && known.exp > Math.floor(now / 1000)) return Effect.succeed(known.user)
      if (known !== undefined) verified.delete(token)
      return verify(token, now)
    })
})

/** The Authentication middleware: the bearer token checked by `verifier`. */
export const layer = Layer.effect(Authentication, Effect.map(verifier, (verify) =>
  Authentication.of({ bearer: (token) => verify(Redacted.value(token)) })))

/** Signs a token for the configured secret (`npm run token`, tests). */
export const sign = (secret: Redacted.Redacted<string>, user: string, roles: ReadonlyArray<Role>, ttlSeconds = 3600) =>
  new SignJWT({ roles: [...roles] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(key(secret))
