import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { DateTime, Duration, Effect, Option, Schedule, Stream } from "effect"
import { LiveChannel, type LiveUpdate, LiveUpdates } from "../../application/ports/LiveUpdates.js"
import * as TradingAccounts from "../../application/TradingAccounts.js"
import { CASH_SCALE, display, PRICE_SCALE, QUANTITY_SCALE } from "../../domain/Decimal.js"
import { AccountId } from "../../domain/Ids.js"
import { NotFound, Unavailable } from "./ApiErrors.js"
import { LedgerlineApi } from "./Api.js"
import { CurrentUser } from "./Auth.js"

export interface LiveStreamOptions {
  /** Interval of the comment lines that keep idle connections (and proxies) open; default 15 s. */
  readonly heartbeat?: Duration.DurationInput
}

/** What a client receives: the REST API's shapes, decimals at their display scale. */
const view = (update: LiveUpdate) => {
  switch (update._tag) {
    case "PriceChanged":
      return { symbol: update.symbol, price: display(update.price, PRICE_SCALE), at: DateTime.formatIso(update.at) }
    case "TradeFilled":
      return {
        tradeId: update.tradeId, orderId: update.orderId, accountId: update.accountId, symbol: update.symbol, side: update.side,
        quantity: display(update.quantity, QUANTITY_SCALE), price: display(update.price, PRICE_SCALE), executedAt: DateTime.formatIso(update.executedAt)
      }
    case "PortfolioChanged":
      return {
        accountId: update.accountId, cash: display(update.cash, CASH_SCALE), equity: display(update.equity, CASH_SCALE),
        asOfPosition: update.asOfPosition, at: DateTime.formatIso(update.at)
      }
  }
}

const encoder = new TextEncoder()
/** One SSE message; JSON never contains a raw newline, so `data` is one line. */
const frame = (update: LiveUpdate) => encoder.encode(`event: ${update._tag}\ndata: ${JSON.stringify(view(update))}\n\n`)
const comment = (text: string) => encoder.encode(`: ${text}\n\n`)

/**
 * `GET /v1/stream`: the LiveUpdates of the chosen channels as Server-Sent Events. The subscriptions
 * are made (and held by the request's scope) before the response starts, so what is committed after
 * the opening comment arrives; they end when the client goes away. Fills and portfolio changes are
 * filtered per caller: risk, auditor and admin see every account, a trader the accounts of their
 * own customer id (looked up once per account and remembered: TradingAccounts.accountOwner).
 */
export const layer = (options: LiveStreamOptions = {}) =>
  HttpApiBuilder.group(LedgerlineApi, "live", (handlers) => {
    const heartbeat = Duration.decode(options.heartbeat ?? Duration.seconds(15))
    const ownerOf = (accountId: string) => TradingAccounts.accountOwner(AccountId.make(accountId))

    return handlers.handleRaw("stream", ({ urlParams }) =>
      Effect.gen(function*() {
        const user = yield* CurrentUser
        const live = yield* Effect.serviceOption(LiveUpdates)
        if (Option.isNone(live)) {
          return yield* new NotFound({ code: "NOT_FOUND", message: "live updates are off: start the service with LEDGERLINE_CACHE=memory or redis" })
        }
        const channels: ReadonlyArray<LiveChannel> = [...new Set(urlParams.channels ?? LiveChannel.literals)]
        const subscriptions = yield* Effect.forEach(channels, (channel) => live.value.subscribe(channel)).pipe(
          Effect.catchTag("LiveUpdatesUnavailable", () =>
            new Unavailable({ code: "UNAVAILABLE", message: "live updates are unavailable; retry" }))
        )
        const seesEverything = user.roles.some((r) => r === "admin" || r === "risk" || r === "auditor")
        const lookups = yield* Effect.context<Effect.Effect.Context<ReturnType<typeof ownerOf>>>()
        const visible = (update: LiveUpdate): Effect.Effect<boolean> =>
          update._tag === "PriceChanged" || seesEverything
            ? Effect.succeed(true)
            : !user.roles.includes("trader")
            ? Effect.succeed(false)
            : ownerOf(update.accountId).pipe(
              Effect.map(Option.contains(user.userId)),
              Effect.catchAll((e) => Effect.as(Effect.logWarning(`live update for account ${update.accountId} dropped: its owner could not be read`, e), false)),
              Effect.provide(lookups)
            )
        const updates = Stream.mergeAll(subscriptions, { concurrency: "unbounded" }).pipe(
          Stream.filterEffect(visible),
          Stream.map(frame)
        )
        const beats = Stream.fromSchedule(Schedule.spaced(heartbeat)).pipe(Stream.map(() => comment("heartbeat")))
        const body = Stream.concat(
          Stream.make(comment(`subscribed to ${channels.join(",")}`)),
          Stream.merge(updates, beats)
        )
        return HttpServerResponse.stream(body, {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
        })
      }))
  })
