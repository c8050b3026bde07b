import { BigDecimal, type Context, Effect, Option } from "effect"
import { createHash } from "node:crypto"
import type { CommandContext, CommandsOverloaded } from "../../application/CommandHandler.js"
import type { CheckpointStoreUnavailable } from "../../application/ports/Checkpoints.js"
import type { ConcurrencyConflict, EventStoreUnavailable } from "../../application/ports/EventStore.js"
import type { SnapshotStoreUnavailable } from "../../application/ports/SnapshotStore.js"
import * as TradingAccounts from "../../application/TradingAccounts.js"
import { AccountId } from "../../domain/Ids.js"
import type { Opened } from "../../domain/TradingAccount.js"
import { Conflict, Forbidden, NotFound, Rejected, Unavailable } from "./ApiErrors.js"
import { CurrentUser, type Role } from "./Auth.js"

export interface CommandHeaders {
  readonly "idempotency-key"?: string | undefined
  readonly "x-correlation-id"?: string | undefined
}

/**
 * The command context from the caller: the Idempotency-Key becomes the commandId (scoped to the
 * user, so two clients cannot collide), X-Correlation-Id the correlationId.
 */
export const commandContext = (headers: CommandHeaders) =>
  Effect.map(CurrentUser, (user): Partial<CommandContext> => ({
    userId: user.userId,
    ...(headers["idempotency-key"] === undefined ? {} : { commandId: `${user.userId}/${headers["idempotency-key"]}` }),
    ...(headers["x-correlation-id"] === undefined ? {} : { correlationId: headers["x-correlation-id"] })
  }))

/** A stable UUID (version 8, name-based on SHA-256) for a name: repeated requests get the same id. */
export const uuidFor = (name: string) => {
  const h = createHash("sha256").update(name).digest("hex")
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** A business rejection from a decider: anything with a reason code and a message. */
interface Refusal { readonly _tag: string; readonly code: string; readonly message: string }

const notDetails = new Set(["_tag", "message", "stack", "name", "cause"])

/**
 * The error's own fields. By name, never by descriptor: a failure comes wrapped in a Proxy (its
 * span), and looking up the descriptor of `stack` through it formats the stack trace (through the
 * source maps, under tsx), which cost more than the rest of a refused order.
 */
const detailsOf = (e: object): Record<string, unknown> => {
  const details: Record<string, unknown> = {}
  for (const k of Object.getOwnPropertyNames(e)) {
    if (notDetails.has(k)) continue
    const v: unknown = (e as Record<string, unknown>)[k]
    details[k] = BigDecimal.isBigDecimal(v) ? BigDecimal.format(v) : v
  }
  return details
}

/** Maps what the core can fail with to the API's errors; never a 500 for a known failure. */
export const toApiError = (
  e: Refusal | ConcurrencyConflict | EventStoreUnavailable | SnapshotStoreUnavailable | CheckpointStoreUnavailable | CommandsOverloaded
) => {
  switch (e._tag) {
    case "CommandsOverloaded":
      return new Unavailable({ code: "OVERLOADED", message: e.message })
    case "ConcurrencyConflict":
      return new Conflict({ code: "CONCURRENCY", message: e.message, details: detailsOf(e) })
    case "EventStoreUnavailable":
    case "SnapshotStoreUnavailable":
    case "CheckpointStoreUnavailable":
      return new Unavailable({ code: "UNAVAILABLE", message: "the event store is unavailable; retry" })
    default: {
      const r = e as Refusal
      return new Rejected({ code: r.code, message: r.message, details: detailsOf(r) })
    }
  }
}

export const requireRole = (...roles: ReadonlyArray<Role>) =>
  Effect.flatMap(CurrentUser, (user) =>
    user.roles.some((r) => r === "admin" || roles.includes(r))
      ? Effect.succeed(user)
      : Effect.fail(new Forbidden({ code: "FORBIDDEN", message: `needs one of the roles: ${["admin", ...roles].join(", ")}` })))

/** Traders act on their own customer's accounts; risk, auditor and admin read every account, admin trades on them too. */
const mayAccess = (user: Context.Tag.Service<CurrentUser>, owner: string, mode: "read" | "trade") =>
  user.roles.includes("admin") || (user.roles.includes("trader") && owner === user.userId) ||
  (mode === "read" && (user.roles.includes("risk") || user.roles.includes("auditor")))

const noAccount = (id: string) => new NotFound({ code: "NOT_FOUND", message: `no account ${id}` })
const notAllowed = (id: string, mode: "read" | "trade") => new Forbidden({ code: "FORBIDDEN", message: `not allowed to ${mode} on account ${id}` })

/**
 * Succeeds if the account exists and the caller may read or trade on it (`mayAccess`). An unknown
 * account is 404, whoever asks. Only the account's owner is needed, which this process remembers
 * once read (it never changes: TradingAccounts.accountOwner), so a request on a known account reads
 * nothing from the store here.
 */
export const accessAccount = (id: string, mode: "read" | "trade") =>
  Effect.gen(function*() {
    const user = yield* CurrentUser
    const owner = yield* TradingAccounts.accountOwner(AccountId.make(id)).pipe(Effect.mapError(toApiError))
    if (Option.isNone(owner)) return yield* noAccount(id)
    if (!mayAccess(user, owner.value, mode)) return yield* notAllowed(id, mode)
  })

/**
 * The account as the event store has it now (strongly consistent: GET /v1/accounts/{id}), if the
 * caller may read it. An unknown account is 404, whoever asks.
 */
export const readAccount = (id: string) =>
  Effect.gen(function*() {
    const user = yield* CurrentUser
    const { state, version } = yield* TradingAccounts.getAccount(AccountId.make(id)).pipe(Effect.mapError(toApiError))
    if (state._tag !== "Opened") return yield* noAccount(id)
    if (!mayAccess(user, state.customerId, "read")) return yield* notAllowed(id, "read")
    return { account: state as Opened, version }
  })

/** Global position of the last event a command wrote (0 when it wrote none). */
export const lastPosition = (recorded: ReadonlyArray<{ readonly position: number }>) => recorded[recorded.length - 1]?.position ?? 0
