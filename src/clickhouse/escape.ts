// ClickHouse 18.16 has no query parameters (`{name:Type}` fails there), so values are bound into SQL
// text. Every value that reaches SQL goes through literal(); nothing else concatenates user data.

export type SqlValue = string | number | bigint | boolean | Date | null;

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
const MIN_NORMAL_FLOAT64 = 2.2250738585072014e-308;
// DateTime is an unsigned 32-bit count of seconds.
const DATETIME_END_MS = 2 ** 32 * 1000;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

// Finding control characters is the point of this pattern.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\\'\x00-\x1f\x7f]/g;

const NAMED_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/**
 * A single-quoted ClickHouse string literal holding exactly the UTF-8 bytes of `value`.
 * Backslash and quote are escaped, control characters become `\xHH` (or their short form) so the
 * statement stays one printable line. Lone UTF-16 surrogates cannot be encoded as UTF-8: they become
 * U+FFFD, as they would in any UTF-8 request body.
 */
export function quoteString(value: string): string {
  if (typeof value !== 'string') {
    throw new TypeError(`quoteString expects a string, got ${typeof value}`);
  }
  const escaped = value.replace(LONE_SURROGATE, '\uFFFD').replace(NEEDS_ESCAPE, (ch) => {
    return NAMED_ESCAPES[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`;
  });
  return `'${escaped}'`;
}

/** `YYYY-MM-DD hh:mm:ss` in UTC, the text form a DateTime('UTC') column reads and writes. */
export function formatDateTime(date: Date): string {
  const time = date.getTime();
  if (!Number.isFinite(time)) {
    throw new RangeError('cannot bind an invalid Date into ClickHouse SQL');
  }
  if (time < 0 || time >= DATETIME_END_MS) {
    throw new RangeError(`${date.toISOString()} is outside the DateTime range [1970-01-01, 2106-02-07)`);
  }
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

function integerText(value: bigint): string {
  if (value < INT64_MIN || value > UINT64_MAX) {
    throw new RangeError(`integer ${value} is outside the Int64/UInt64 range ClickHouse can hold exactly`);
  }
  // Parenthesised so a negative never meets a preceding minus: `1-${-5}` would read as `1--5`, a comment.
  return value < 0n ? `(${value})` : value.toString();
}

/**
 * A SQL literal for `value`, safe to splice into a ClickHouse statement (18.16 and current).
 * Dates become `toDateTime('…', 'UTC')`, truncated to whole seconds as DateTime stores them;
 * booleans become 1 or 0; null becomes NULL. NaN, Infinity, subnormal floats and integers outside
 * Int64/UInt64 throw rather than change on the way.
 */
export function literal(value: SqlValue): string {
  if (value === null) {
    return 'NULL';
  }
  switch (typeof value) {
    case 'string':
      return quoteString(value);
    case 'boolean':
      return value ? '1' : '0';
    case 'bigint':
      return integerText(value);
    case 'number': {
      if (!Number.isFinite(value)) {
        throw new RangeError(`cannot bind ${value} into ClickHouse SQL: numbers must be finite`);
      }
      if (Number.isInteger(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER) {
        return integerText(BigInt(value));
      }
      // 18.16's parser rejects subnormals (5e-324 is a syntax error there), so refuse them here.
      if (value !== 0 && Math.abs(value) < MIN_NORMAL_FLOAT64) {
        throw new RangeError(`cannot bind the subnormal number ${value} into ClickHouse SQL`);
      }
      // Shortest round-trip decimal (or exponent) form; ClickHouse parses it back to the same Float64.
      return value < 0 ? `(${value})` : String(value);
    }
    case 'object':
      if (value instanceof Date) {
        return `toDateTime(${quoteString(formatDateTime(value))}, 'UTC')`;
      }
      break;
  }
  throw new TypeError(`cannot bind a value of type ${typeof value} into ClickHouse SQL`);
}

/**
 * A plain identifier (database, table, column name) checked against a conservative pattern rather
 * than quoted, so names stay portable across ClickHouse versions and never need escaping.
 */
export function identifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new RangeError(`"${name}" is not a plain identifier (letters, digits and "_", not starting with a digit)`);
  }
  return name;
}
