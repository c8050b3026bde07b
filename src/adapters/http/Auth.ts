import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import { jwtVerify, SignJWT } from "jose"
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

const Claims = Schema.Struct({ sub: Schema.NonEmptyString, roles: Schema.Array(Role) })
const key = (secret: Redacted.Redacted<string>) => new TextEncoder().encode(Redacted.value(secret))
const unauthorized = (message: string) => new Unauthorized({ code: "UNAUTHORIZED", message })

/** Verifies the bearer token: HS256 only, `exp` required and enforced, `sub` and `roles` present. */
export const layer = Layer.effect(Authentication, Effect.map(JwtSecret, (secret) =>
  Authentication.of({
    bearer: (token) =>
      Effect.tryPromise({
        try: () => jwtVerify(Redacted.value(token), key(secret), { algorithms: ["HS256"], requiredClaims: ["exp", "sub"] }),
        catch: (e) => unauthorized(`invalid token: ${e instanceof Error ? e.message : String(e)}`)
      }).pipe(
        Effect.flatMap(({ payload }) =>
          Schema.decodeUnknown(Claims)(payload).pipe(Effect.mapError(() => unauthorized("the token needs sub and roles (trader, risk, auditor, admin)")))),
        Effect.map((claims) => ({ userId: claims.sub, roles: claims.roles }))
      )
  })))

/** Signs a token for the configured secret (`npm run token`, tests). */
export const sign = (secret: Redacted.Redacted<string>, user: string, roles: ReadonlyArray<Role>, ttlSeconds = 3600) =>
  new SignJWT({ roles: [...roles] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(key(secret))
