// Money is integer micro-units (1e-6 of the currency) held in bigint while computing, never a float.

const MICROS = 1_000_000n;

/** "3.00" -> 3_000_000n; at most six decimals, as the config and plans tables allow. */
export function decimalToMicros(value: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(value);
  if (!match) throw new Error(`"${value}" is not a non-negative decimal with at most 6 decimals`);
  return BigInt(match[1]!) * MICROS + BigInt((match[2] ?? '').padEnd(6, '0'));
}

/** 3_000_000n -> "3.000000"; `decimals` trims to a display precision (rounding half up). */
export function microsToDecimal(micros: bigint | number, decimals = 6): string {
  let value = BigInt(micros);
  const negative = value < 0n;
  if (negative) value = -value;
  const scale = 10n ** BigInt(6 - decimals);
  const rounded = (value + scale / 2n) / scale;
  const unit = 10n ** BigInt(decimals);
  const whole = rounded / unit;
  const fraction = decimals > 0 ? `.${(rounded % unit).toString().padStart(decimals, '0')}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/** tokens x price-per-million, in micro-units, rounded half up to a whole micro-unit. */
export function tokensCostMicros(tokens: number, pricePerMillionMicros: bigint): bigint {
  return (BigInt(tokens) * pricePerMillionMicros + MICROS / 2n) / MICROS;
}
