import { AccountEvent, AccountEventVersions } from "../../domain/AccountEvents.js"
import { AccountId, CustomerId, OrderId, TradeId } from "../../domain/Ids.js"
import { MarketEvent, MarketEventVersions } from "../../domain/Market.js"
import { type EventHistory, makeEventCodec } from "./EventCodec.js"

// The Avro schema of every event type at every version ever written, frozen: never edit a version in
// place. To change an event Schema: bump its version in AccountEventVersions / MarketEventVersions and
// add the new version here (assertHistoryCurrent prints it); a change of meaning also gets an upcaster.
// Bytes written at an older version are then read by Avro schema resolution into the current schema
// (instants written as ISO strings, before timestamp-millis, too: AvroSchema's TimestampMillis reads both).

export const AccountEventHistory: EventHistory<AccountEvent["_tag"]> = {
  AccountOpened: {
    1: {
      type: "record",
      name: "ledgerline.AccountOpened",
      fields: [
        { name: "accountId", type: "string" },
        { name: "customerId", type: "string" },
        {
          name: "accountType",
          type: { type: "enum", name: "ledgerline.AccountOpened.accountType", symbols: ["INDIVIDUAL", "CORPORATE"] }
        },
        { name: "initialBalance", type: "string" },
        { name: "currency", type: "string" },
        { name: "openedAt", type: "string" }
      ]
    },
    2: {
      type: "record",
      name: "ledgerline.AccountOpened",
      fields: [
        {
          name: "accountId",
          type: [{ type: "fixed", name: "ledgerline.Uuid", size: 16, logicalType: "uuid" }, "string"]
        },
        { name: "customerId", type: ["ledgerline.Uuid", "string"] },
        {
          name: "accountType",
          type: { type: "enum", name: "ledgerline.AccountOpened.accountType", symbols: ["INDIVIDUAL", "CORPORATE"] }
        },
        { name: "initialBalance", type: "string" },
        { name: "currency", type: "string" },
        { name: "openedAt", type: { type: "long", logicalType: "timestamp-millis" } }
      ]
    }
  },
  FundsDeposited: {
    1: {
      type: "record",
      name: "ledgerline.FundsDeposited",
      fields: [
        { name: "accountId", type: "string" },
        { name: "amount", type: "string" },
        { name: "depositedAt", type: "string" }
      ]
    },
    2: {
      type: "record",
      name: "ledgerline.FundsDeposited",
      fields: [
        {
          name: "accountId",
          type: [{ type: "fixed", name: "ledgerline.Uuid", size: 16, logicalType: "uuid" }, "string"]
        },
        { name: "amount", type: "string" },
        { name: "depositedAt", type: { type: "long", logicalType: "timestamp-millis" } }
      ]
    }
  },
  FundsWithdrawn: {
    1: {
      type: "record",
      name: "ledgerline.FundsWithdrawn",
      fields: [
        { name: "accountId", type: "string" },
        { name: "amount", type: "string" },
        { name: "withdrawnAt", type: "string" }
      ]
    },
    2: {
      type: "record",
      name: "ledgerline.FundsWithdrawn",
      fields: [
        {
          name: "accountId",
          type: [{ type: "fixed", name: "ledgerline.Uuid", size: 16, logicalType: "uuid" }, "string"]
        },
        { name: "amount", type: "string" },
        { name: "withdrawnAt", type: { type: "long", logicalType: "timestamp-millis" } }
      ]
    }
  },
  RiskLimitsSet: {
    1: {
      type: "record",
      name: "ledgerline.RiskLimitsSet",
      fields: [
        { name: "accountId", type: "string" },
        {
          name: "limits",
          type: {
            type: "record",
            name: "ledgerline.limits.RiskLimits",
            fields: [
              { name: "maxOrderNotional", type: ["null", "string"], default: null },
              { name: "maxPositionPerSymbol", type: ["null", "string"], default: null },
              { name: "maxGrossExposure", type: ["null", "string"], default: null },
              { name: "allowShort", type: "boolean" }
            ]
          }
        },
        { name: "setAt", type: "string" }
      ]
    },
    2: {
      type: "record",
      name: "ledgerline.RiskLimitsSet",
      fields: [
        {
          name: "accountId",
          type: [{ type: "fixed", name: "ledgerline.Uuid", size: 16, logicalType: "uuid" }, "string"]
        },
        {
          name: "limits",
          type: {
            type: "record",
            name: "ledgerline.limits.RiskLimits",
            fields: [
              { name: "maxOrderNotional", type: ["null", "string"], default: null },
              { name: "maxPositionPerSymbol", type: ["null", "string"], default: null },
              { name: "maxGrossExposure", type: ["null", "string"], default: null },
              { name: "allowShort", type: "boolean" }
            ]
          }
        },
        { name: "setAt", type: { type: "long", logicalType: "timestamp-millis" } }
      ]
    }
  },
  OrderPlaced: {
    1: {
      type: "record",
      name: "ledgerline.OrderPlaced",
      fields: [
        { name: "accountId", type: "string" },
        { name: "orderId", type: "string" },
        { name: "symbol", type: "string" },
        { name: "side", type: { type: "enum", name: "ledgerline.OrderPlaced.side", symbols: ["BUY", "SELL"] } },
        {
          name: "orderType",
          type: { type: "enum", name: "ledgerline.OrderPlaced.orderType", symbols: ["MARKET", "LIMIT"] }
        },
        { name: "quantity", type: "string" },
        { name: "limitPrice", type: ["null", "string"], default: null },
        { name: "reserved", type: "string" },
        { name: "placedAt", type: "string" }
      ]
    },
    2: {
      type: "record",
      name: "ledgerline.OrderPlaced",
      fields: [
        {
          name: "accountId",
          type: [{ type: "fixed", name: "ledgerline.Uuid", size: 16, logicalType: "uuid" }, "string"]
        },
        { name: "orderId", type: ["ledgerline.Uuid", "string"] },
        { name: "symbol", type: "string" },
        { name: "side", type: { type: "enum", name: "ledgerline.OrderPlaced.side", symbols: ["BUY", "SELL"] } },
        {
          name: "orderType",
          type: { type: "enum", name: "ledgerline.OrderPlaced.orderType", symbols: ["MARKET", "LIMIT"] }
        },
        { name: "quantity", type: "string" },
        { name: "limitPrice", type: ["null", "string"], default: null },
        { name: "reserved", type: "string" },
        { name: "placedAt", type: { type: "long", logicalType: "timestamp-millis" } }
      ]
    }
  },
  OrderRejected: {
    1: {
      type: "record",
      name: "ledgerline.OrderRejected",
      fields: [
        { name: "accountId", type: "string" },
        { name: "orderId", type: "string" },
        { name: "symbol", type: "string" },
        { name: "side", type: { type: "enum", name: "ledgerline.OrderRejected.side", symbols: ["BUY", "SELL"] } },
        {
          name: "orderType",
          type: { type: "enum", name: "ledgerline.OrderRejected.orderType", symbols: ["MARKET", "LIMIT"] }
        },
        { name: "quantity", type: "string" },
        { name: "limitPrice", type: ["null", "string"], default: null },
        {
          name: "reason",
          type: [
            { type: "record", name: "ledgerline.reason.AccountNotOpen", fields: [] },
            {
              type: "record",
              name: "ledgerline.reason.InvalidAmount",
              fields: [
                { name: "field", type: "string" },
                { name: "value", type: "string" },
                {
                  name: "problem",
                  type: {
                    type: "enum",
                    name: "ledgerline.reason.InvalidAmount.problem",
                    symbols: ["NOT_POSITIVE", "NEGATIVE", "TOO_MANY_DECIMALS"]
                  }
                }
              ]
            },
            {
              type: "record",
              name: "ledgerline.reason.InvalidOrder",
              fields: [
                { name: "field", type: "string" },
                {
                  name: "problem",
                  type: {
                    type: "enum",
                    name: "ledgerline.reason.InvalidOrder.problem",
                    symbols: ["LIMIT_PRICE_REQUIRED", "LIMIT_PRICE_NOT_ALLOWED"]
                  }
                }
              ]
            },
            {
              type: "record",
              name: "ledgerline.reason.InsufficientFunds",
              fields: [{ name: "requested", type: "string" }, { name: "available", type: "string" }]
            },
            {
              type: "record",
              name: "ledgerline.reason.InsufficientPosition",
              fields: [
                { name: "symbol", type: "string" },
                { name: "requested", type: "string" },
                { name: "available", type: "string" }
              ]
            },
            {
              type: "record",
              name: "ledgerline.reason.OrderNotionalLimitExceeded",
              fields: [{ name: "notional", type: "string" }, { name: "limit", type: "string" }]
            },
            {
              type: "record",
              name: "ledgerline.reason.PositionLimitExceeded",
              fields: [
                { name: "symbol", type: "string" },
                { name: "resulting", type: "string" },
                { name: "limit", type: "string" }
              ]
            },
            {
              type: "record",
              name: "ledgerline.reason.GrossExposureLimitExceeded",
              fields: [{ name: "resulting", type: "string" }, { name: "limit", type: "string" }]
            },
            { type: "record", name: "ledgerline.reason.MarketClosed", fields: [{ name: "symbol", type: "string" }] },
            { type: "record", name: "ledgerline.reason.MarketHalted", fields: [{ name: "symbol", type: "string" }] },
            {
              type: "record",
              name: "ledgerline.reason.NoReferencePrice",
              fields: [{ name: "symbol", type: "string" }]
            },
            {
              type: "record",
              name: "ledgerline.reason.PriceOutsideBand",
              fields: [
                { name: "symbol", type: "string" },
                { name: "limitPrice", type: "string" },
                { name: "lastPrice", type: "string" },
                { name: "band", type: "string" }
              ]
            }
          ]
        },
        { name: "rejectedAt", type: "string" }
      ]
    },
    2: {
      type: "record",
      name: "ledgerline.OrderRejected",
      fields: [
        {
          name: "accountId",
          type: [{ type: "fixed", name: "ledgerline.Uuid", size: 16, logicalType: "uuid" }, "string"]
        },
        { name: "orderId", type: ["ledgerline.Uuid", "string"] },
        { name: "symbol", type: "string" },
        { name: "side", type: { type: "enum", name: "ledgerline.OrderRejected.side", symbols: ["BUY", "SELL"] } },
        {
          name: "orderType",
          type: { type: "enum", name: "ledgerline.OrderRejected.orderType", symbols: ["MARKET", "LIMIT"] }
        },
        { name: "quantity", type: "string" },
        { name: "limitPrice", type: ["null", "string"], default: null },
        {
          name: "reason",
          type: [
            { type: "record", name: "ledgerline.reason.AccountNotOpen", fields: [] },
            {
              type: "record",
              name: "ledgerline.reason.InvalidAmount",
              fields: [
                { name: "field", type: "string" },
                { name: "value", type: "string" },
                {
                  name: "problem",
                  type: {
                    type: "enum",
                    name: "ledgerline.reason.InvalidAmount.problem",
                    symbols: ["NOT_POSITIVE", "NEGATIVE", "TOO_MANY_DECIMALS"]
                  }
                }
              ]
            },
            {
              type: "record",
              name: "ledgerline.reason.InvalidOrder",
              fields: [
                { name: "field", type: "string" },
                {
                  name: "problem",
                  type: {
                    type: "enum",
                    name: "ledgerline.reason.InvalidOrder.problem",
                    symbols: ["LIMIT_PRICE_REQUIRED", "LIMIT_PRICE_NOT_ALLOWED"]
                  }
                }
              ]
            },
            {
              type: "record",
              name: "ledgerline.reason.InsufficientFunds",
              fields: [{ name: "requested", type: "string" }, { name: "available", type: "string" }]
            },
            {
              type: "record",
              name: "ledgerline.reason.InsufficientPosition",
              fields: [
                { name: "symbol", type: "string" },
                { name: "requested", type: "string" },
                { name: "available", type: "string" }
              ]
            },
            {
              type: "record",
              name: "ledgerline.reason.OrderNotionalLimitExceeded",
              fields: [{ name: "notional", type: "string" }, { name: "limit", type: "string" }]
            },
            {
              type: "record",
              name: "ledgerline.reason.PositionLimitExceeded",
              fields: [
                { name: "symbol", type: "string" },
                { name: "resulting", type: "string" },
                { name: "limit", type: "string" }
              ]
            },
            {
              type: "record",
              name: "ledgerline.reason.GrossExposureLimitExceeded",
              fields: [{ name: "resulting", type: "string" }, { name: "limit", type: "string" }]
            },
            { type: "record", name: "ledgerline.reason.MarketClosed", fields: [{ name: "symbol", type: "string" }] },
            { type: "record", name: "ledgerline.reason.MarketHalted", fields: [{ name: "symbol", type: "string" }] },
            {
              type: "record",
              name: "ledgerline.reason.NoReferencePrice",
              fields: [{ name: "symbol", type: "string" }]
            },
            {
              type: "record",
              name: "ledgerline.reason.PriceOutsideBand",
              fields: [
                { name: "symbol", type: "string" },
                { name: "limitPrice", type: "string" },
                { name: "lastPrice", type: "string" },
                { name: "band", type: "string" }
              ]
            }
          ]
        },
        { name: "rejectedAt", type: { type: "long", logicalType: "timestamp-millis" } }
      ]
    }
  },
  TradeExecuted: {
    1: {
      type: "record",
      name: "ledgerline.TradeExecuted",
      fields: [
        { name: "tradeId", type: "string" },
        { name: "accountId", type: "string" },
        { name: "orderId", type: "string" },
        { name: "symbol", type: "string" },
        { name: "quantity", type: "string" },
        { name: "price", type: "string" },
        {
          name: "tradeType",
          type: { type: "enum", name: "ledgerline.TradeExecuted.tradeType", symbols: ["BUY", "SELL"] }
        },
        { name: "executedAt", type: "string" }
      ]
    },
    2: {
      type: "record",
      name: "ledgerline.TradeExecuted",
      fields: [
        { name: "tradeId", type: "string" },
        { name: "accountId", type: "string" },
        { name: "orderId", type: "string" },
        { name: "symbol", type: "string" },
        { name: "quantity", type: "string" },
        { name: "price", type: "string" },
        {
          name: "tradeType",
          type: { type: "enum", name: "ledgerline.TradeExecuted.tradeType", symbols: ["BUY", "SELL"] }
        },
        { name: "executedAt", type: "string" },
        { name: "venue", type: "string", default: "INTERNAL" }
      ]
    },
    3: {
      type: "record",
      name: "ledgerline.TradeExecuted",
      fields: [
        {
          name: "tradeId",
          type: [{ type: "fixed", name: "ledgerline.Uuid", size: 16, logicalType: "uuid" }, "string"]
        },
        { name: "accountId", type: ["ledgerline.Uuid", "string"] },
        { name: "orderId", type: ["ledgerline.Uuid", "string"] },
        { name: "symbol", type: "string" },
        { name: "quantity", type: "string" },
        { name: "price", type: "string" },
        {
          name: "tradeType",
          type: { type: "enum", name: "ledgerline.TradeExecuted.tradeType", symbols: ["BUY", "SELL"] }
        },
        { name: "executedAt", type: { type: "long", logicalType: "timestamp-millis" } },
        { name: "venue", type: ["null", "string"], default: null, nullMeans: "INTERNAL" }
      ]
    }
  },
  OrderCancelled: {
    1: {
      type: "record",
      name: "ledgerline.OrderCancelled",
      fields: [
        { name: "accountId", type: "string" },
        { name: "orderId", type: "string" },
        { name: "cancelledAt", type: "string" }
      ]
    },
    2: {
      type: "record",
      name: "ledgerline.OrderCancelled",
      fields: [
        {
          name: "accountId",
          type: [{ type: "fixed", name: "ledgerline.Uuid", size: 16, logicalType: "uuid" }, "string"]
        },
        { name: "orderId", type: ["ledgerline.Uuid", "string"] },
        { name: "cancelledAt", type: { type: "long", logicalType: "timestamp-millis" } }
      ]
    }
  }
}

export const MarketEventHistory: EventHistory<MarketEvent["_tag"]> = {
  MarketOpened: {
    1: {
      type: "record",
      name: "ledgerline.MarketOpened",
      fields: [
        { name: "symbol", type: "string" },
        { name: "priceBand", type: "string" },
        { name: "orderBand", type: "string" },
        { name: "haltOnAnomaly", type: "boolean" },
        { name: "openedAt", type: "string" }
      ]
    },
    2: {
      type: "record",
      name: "ledgerline.MarketOpened",
      fields: [
        { name: "symbol", type: "string" },
        { name: "priceBand", type: "string" },
        { name: "orderBand", type: "string" },
        { name: "haltOnAnomaly", type: "boolean" },
        { name: "openedAt", type: { type: "long", logicalType: "timestamp-millis" } }
      ]
    }
  },
  MarketClosed: {
    1: {
      type: "record",
      name: "ledgerline.MarketClosed",
      fields: [{ name: "symbol", type: "string" }, { name: "closedAt", type: "string" }]
    },
    2: {
      type: "record",
      name: "ledgerline.MarketClosed",
      fields: [
        { name: "symbol", type: "string" },
        { name: "closedAt", type: { type: "long", logicalType: "timestamp-millis" } }
      ]
    }
  },
  TradingHalted: {
    1: {
      type: "record",
      name: "ledgerline.TradingHalted",
      fields: [{ name: "symbol", type: "string" }, { name: "reason", type: "string" }, { name: "haltedAt", type: "string" }]
    },
    2: {
      type: "record",
      name: "ledgerline.TradingHalted",
      fields: [
        { name: "symbol", type: "string" },
        { name: "reason", type: "string" },
        { name: "haltedAt", type: { type: "long", logicalType: "timestamp-millis" } }
      ]
    }
  },
  TradingResumed: {
    1: {
      type: "record",
      name: "ledgerline.TradingResumed",
      fields: [{ name: "symbol", type: "string" }, { name: "resumedAt", type: "string" }]
    },
    2: {
      type: "record",
      name: "ledgerline.TradingResumed",
      fields: [
        { name: "symbol", type: "string" },
        { name: "resumedAt", type: { type: "long", logicalType: "timestamp-millis" } }
      ]
    }
  },
  PriceUpdated: {
    1: {
      type: "record",
      name: "ledgerline.PriceUpdated",
      fields: [{ name: "symbol", type: "string" }, { name: "price", type: "string" }, { name: "timestamp", type: "string" }]
    },
    2: {
      type: "record",
      name: "ledgerline.PriceUpdated",
      fields: [
        { name: "symbol", type: "string" },
        { name: "price", type: "string" },
        { name: "timestamp", type: { type: "long", logicalType: "timestamp-millis" } }
      ]
    }
  },
  PriceRejected: {
    1: {
      type: "record",
      name: "ledgerline.PriceRejected",
      fields: [
        { name: "symbol", type: "string" },
        { name: "price", type: "string" },
        { name: "timestamp", type: "string" },
        {
          name: "anomaly",
          type: {
            type: "enum",
            name: "ledgerline.PriceRejected.anomaly",
            symbols: ["NON_POSITIVE_PRICE", "OUT_OF_ORDER", "BAND_EXCEEDED", "PRICE_SCALE"]
          }
        },
        { name: "lastPrice", type: ["null", "string"], default: null }
      ]
    },
    2: {
      type: "record",
      name: "ledgerline.PriceRejected",
      fields: [
        { name: "symbol", type: "string" },
        { name: "price", type: "string" },
        { name: "timestamp", type: { type: "long", logicalType: "timestamp-millis" } },
        {
          name: "anomaly",
          type: {
            type: "enum",
            name: "ledgerline.PriceRejected.anomaly",
            symbols: ["NON_POSITIVE_PRICE", "OUT_OF_ORDER", "BAND_EXCEEDED", "PRICE_SCALE"]
          }
        },
        { name: "lastPrice", type: ["null", "string"], default: null }
      ]
    }
  }
}

export const AccountEventCodec = makeEventCodec({
  name: "account",
  schema: AccountEvent,
  versions: AccountEventVersions,
  history: AccountEventHistory,
  upcasters: {},
  // minted as UUIDv7s, but callers may choose their own (an account id from an idempotency key)
  uuids: [AccountId, CustomerId, OrderId, TradeId]
})

export const MarketEventCodec = makeEventCodec({
  name: "market",
  schema: MarketEvent,
  versions: MarketEventVersions,
  history: MarketEventHistory,
  upcasters: {}
})
