import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Redacted, TestClock } from "effect"
import { SignJWT } from "jose"
import { Unauthorized } from "../../../src/adapters/http/ApiErrors.js"
import * as Auth from "../../../src/adapters/http/Auth.js"

const SECRET = Redacted.make("auth-test-secret-that-is-long-enough")
class Verifier extends Context.Tag("test/Verifier")<Verifier, Effect.Effect.Success<typeof Auth.verifier>>() {}
const AuthLive = Layer.effect(Verifier, Auth.verifier).pipe(Layer.provide(Layer.succeed(Auth.JwtSecret, SECRET)))

/** The bearer check the HTTP middleware runs, at the TestClock's time (set to now first). */
const bearer = (token: string) => Effect.flatMap(Verifier, (verify) => verify(token))
const startNow = TestClock.setTime(Date.now())
const failureOf = <A, E>(exit: Exit.Exit<A, E>) => (Exit.isFailure(exit) ? exit.cause : undefined)

describe("bearer tokens", () => {
  it.effect("a valid token gives its user and roles, the first time and the next", () =>
    Effect.gen(function*() {
      yield* startNow
      const token = yield* Effect.promise(() => Auth.sign(SECRET, "alice", ["trader"], 60))
      expect(yield* bearer(token)).toEqual({ userId: "alice", roles: ["trader"] })
      expect(yield* bearer(token)).toEqual({ userId: "alice", roles: ["trader"] })
    }).pipe(Effect.provide(AuthLive)))

  it.effect("an expired token is refused even though it was verified (and remembered) before", () =>
    Effect.gen(function*() {
      yield* startNow
      const token = yield* Effect.promise(() => Auth.sign(SECRET, "alice", ["trader"], 60))
      expect(yield* bearer(token)).toEqual({ userId: "alice", roles: ["trader"] })
      yield* TestClock.adjust("59 seconds")
      expect(yield* bearer(token)).toEqual({ userId: "alice", roles: ["trader"] })
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Effect.exit(bearer(token))
      expect(exit).toEqual(Exit.fail(new Unauthorized({ code: "UNAUTHORIZED", message: "invalid token: \"exp\" claim timestamp check failed" })))
      // and stays refused
      expect(Exit.isFailure(yield* Effect.exit(bearer(token)))).toBe(true)
    }).pipe(Effect.provide(AuthLive)))

  it.effect("a remembered token does not vouch for another signature or another secret", () =>
    Effect.gen(function*() {
      yield* startNow
      const token = yield* Effect.promise(() => Auth.sign(SECRET, "alice", ["trader"], 60))
      yield* bearer(token)
      const [header, payload] = token.split(".")
      const admin = yield* Effect.promise(() => Auth.sign(Redacted.make("some other secret, just as long"), "alice", ["admin"], 60))
      for (const forged of [`${header}.${payload}.${admin.split(".")[2]}`, admin, `${token}x`]) {
        const cause = failureOf(yield* Effect.exit(bearer(forged)))
        expect(cause, forged).toBeDefined()
      }
      expect(yield* bearer(token)).toEqual({ userId: "alice", roles: ["trader"] })
    }).pipe(Effect.provide(AuthLive)))

  it.effect("a token without roles, or with an unknown role, is refused", () =>
    Effect.gen(function*() {
      yield* startNow
      const key = new TextEncoder().encode(Redacted.value(SECRET))
      const exp = Math.floor(Date.now() / 1000) + 60
      const noRoles = yield* Effect.promise(() => new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice").setExpirationTime(exp).sign(key))
      const unknownRole = yield* Effect.promise(() =>
        new SignJWT({ roles: ["owner"] }).setProtectedHeader({ alg: "HS256" }).setSubject("alice").setExpirationTime(exp).sign(key))
      for (const token of [noRoles, unknownRole, noRoles]) {
        expect(yield* Effect.exit(bearer(token))).toEqual(Exit.fail(new Unauthorized({
          code: "UNAUTHORIZED", message: "the token needs sub and roles (trader, risk, auditor, admin)"
        })))
      }
    }).pipe(Effect.provide(AuthLive)))

  it.effect("a token without exp is refused", () =>
    Effect.gen(function*() {
      yield* startNow
      const key = new TextEncoder().encode(Redacted.value(SECRET))
      const token = yield* Effect.promise(() => new SignJWT({ roles: ["admin"] }).setProtectedHeader({ alg: "HS256" }).setSubject("alice").sign(key))
      expect(Exit.isFailure(yield* Effect.exit(bearer(token)))).toBe(true)
    }).pipe(Effect.provide(AuthLive)))
})
