import { Schema } from "effect"

export const AccountId = Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(50), Schema.brand("AccountId"))
export type AccountId = typeof AccountId.Type

export const CustomerId = Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(50), Schema.brand("CustomerId"))
export type CustomerId = typeof CustomerId.Type

export const OrderId = Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(50), Schema.brand("OrderId"))
export type OrderId = typeof OrderId.Type

export const TradeId = Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(50), Schema.brand("TradeId"))
export type TradeId = typeof TradeId.Type

/** A ticker: 1–10 characters of A–Z, 0–9, '.' or '-' (the brief's VARCHAR(10)). */
export const Symbol = Schema.String.pipe(Schema.pattern(/^[A-Z0-9.-]{1,10}$/), Schema.brand("Symbol"))
export type Symbol = typeof Symbol.Type

/** ISO 4217 alphabetic code. */
export const Currency = Schema.String.pipe(Schema.pattern(/^[A-Z]{3}$/), Schema.brand("Currency"))
export type Currency = typeof Currency.Type
