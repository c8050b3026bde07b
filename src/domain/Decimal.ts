import { BigDecimal, Schema } from "effect"

/**
 * Exact decimals for money, prices and quantities. Stored and sent as strings ("1500.00"), so a JSON
 * number never becomes a float on the way in. Scales follow the read models of the brief.
 */
export const Decimal = Schema.BigDecimal

export const QUANTITY_SCALE = 2
export const PRICE_SCALE = 4
export const CASH_SCALE = 2
/** Scale kept for cost basis moved on a partial close; a full close moves the exact remainder. */
export const COST_SCALE = 8

export const zero = BigDecimal.fromBigInt(0n)

export const decimal = (s: string): BigDecimal.BigDecimal => BigDecimal.unsafeFromString(s)

/** True when the value needs no more than `scale` fractional digits (trailing zeros do not count). */
export const fitsScale = (x: BigDecimal.BigDecimal, scale: number): boolean =>
  BigDecimal.normalize(x).scale <= scale

/** Half-even rounding: the one rounding rule, used only where a figure is shown or reported. */
export const roundHalfEven = (x: BigDecimal.BigDecimal, scale: number): BigDecimal.BigDecimal =>
  BigDecimal.round(x, { scale, mode: "half-even" })

/** Powers of ten up to 10^63, made once: a division at trading rates would otherwise raise one or two every time. */
const POWERS_OF_TEN: ReadonlyArray<bigint> = Array.from({ length: 64 }, (_, i) => 10n ** BigInt(i))
const pow10 = (n: number): bigint => POWERS_OF_TEN[n] ?? 10n ** BigInt(n)

/**
 * `a / b` rounded half-even at `scale`; `b` must not be zero. Exact: one integer division of the
 * unscaled values brought to `scale`, and the remainder decides the rounding (no quotient at a
 * long working precision that is then rounded again).
 */
export const divideRounded = (
  a: BigDecimal.BigDecimal,
  b: BigDecimal.BigDecimal,
  scale: number
): BigDecimal.BigDecimal => {
  if (b.value === 0n) throw new RangeError("division by zero")
  // a / b × 10^scale = (a.value × 10^(scale + b.scale − a.scale)) / b.value
  const shift = scale + b.scale - a.scale
  const numerator = shift >= 0 ? a.value * pow10(shift) : a.value
  const denominator = shift >= 0 ? b.value : b.value * pow10(-shift)
  let quotient = numerator / denominator // truncated toward zero
  const remainder = numerator % denominator
  if (remainder !== 0n) {
    const twice = 2n * (remainder < 0n ? -remainder : remainder)
    const divisor = denominator < 0n ? -denominator : denominator
    if (twice > divisor || (twice === divisor && quotient % 2n !== 0n)) {
      quotient += (numerator < 0n) === (denominator < 0n) ? 1n : -1n
    }
  }
  return BigDecimal.make(quotient, scale)
}

/** A fixed-point string at `scale`, rounded half-even: "1500.00", "-0.0050". */
export const display = (x: BigDecimal.BigDecimal, scale: number): string => {
  const r = BigDecimal.scale(roundHalfEven(x, scale), scale)
  const negative = r.value < 0n
  const digits = (negative ? -r.value : r.value).toString().padStart(scale + 1, "0")
  const whole = digits.slice(0, digits.length - scale)
  const fraction = digits.slice(digits.length - scale)
  return `${negative ? "-" : ""}${whole}${scale > 0 ? `.${fraction}` : ""}`
}

export const sum = (xs: Iterable<BigDecimal.BigDecimal>): BigDecimal.BigDecimal => BigDecimal.sumAll(xs)
