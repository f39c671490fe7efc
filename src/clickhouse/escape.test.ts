import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceUrl } from '../../test/testkit/services.ts';
import { createClickhouse, type ClickHouseClient } from './client.ts';
import { formatDateTime, identifier, literal, quoteString, type SqlValue } from './escape.ts';

const clickhouseUrl = serviceUrl('CLICKHOUSE');

const TRICKY_STRINGS: Array<[string, string]> = [
  ['empty', ''],
  ['single quote', "it's"],
  ['only quotes', "''''"],
  ['doubled-quote escape attempt', "a'' OR 1=1 --"],
  ['backslash', 'C:\\path\\to'],
  ['trailing backslash', 'ends with \\'],
  ['backslash before quote', "\\'"],
  ['backslash escapes as text', '\\n \\t \\0 \\x41 \\\\'],
  ['newlines and tabs', 'line1\nline2\r\n\ttabbed'],
  ['NUL', 'before\0after'],
  ['all C0 controls and DEL', Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('') + '\x7f'],
  ['unicode', 'héllo wörld — 日本語 😀 \u200b \u2028'],
  ['injection', "'; DROP TABLE x; --"],
  ['comment starters', '/* not a comment */ -- nor this # nor this'],
  ['braces like query params', '{name:String} {{x}}'],
  ['double quote and backtick', '"quoted" `ident`'],
  ['semicolons', ';;;'],
];

describe('quoteString', () => {
  it('escapes quote and backslash', () => {
    expect(quoteString("it's")).toBe("'it\\'s'");
    expect(quoteString('a\\b')).toBe("'a\\\\b'");
    expect(quoteString("\\'")).toBe("'\\\\\\''");
  });

  it('writes control characters as escapes so the statement stays on one line', () => {
    expect(quoteString('a\nb\r\tc')).toBe("'a\\nb\\r\\tc'");
    expect(quoteString('\0')).toBe("'\\0'");
    expect(quoteString('\x1b[31m\x7f')).toBe("'\\x1B[31m\\x7F'");
    for (const [, value] of TRICKY_STRINGS) {
      expect(quoteString(value)).not.toMatch(/[\x00-\x1f\x7f]/); // eslint-disable-line no-control-regex
    }
  });

  it('leaves printable unicode untouched', () => {
    expect(quoteString('日本語 😀')).toBe("'日本語 😀'");
  });

  it('replaces lone surrogates, which UTF-8 cannot carry, with U+FFFD', () => {
    expect(quoteString('a\uD800b')).toBe("'a\uFFFDb'");
    expect(quoteString('\uDC00')).toBe("'\uFFFD'");
    expect(quoteString('\uD83D\uDE00')).toBe("'😀'");
  });

  it('refuses non-strings', () => {
    expect(() => quoteString(1 as unknown as string)).toThrow(TypeError);
  });
});

describe('literal', () => {
  it('binds null, booleans and integers', () => {
    expect(literal(null)).toBe('NULL');
    expect(literal(true)).toBe('1');
    expect(literal(false)).toBe('0');
    expect(literal(0)).toBe('0');
    expect(literal(-0)).toBe('0');
    expect(literal(42)).toBe('42');
    expect(literal(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
  });

  it('parenthesises negatives so `1-` before them cannot form a `--` comment', () => {
    expect(literal(-5)).toBe('(-5)');
    expect(literal(-1.5)).toBe('(-1.5)');
    expect(literal(-5n)).toBe('(-5)');
  });

  it('binds bigints across the Int64 and UInt64 range and refuses beyond it', () => {
    expect(literal(-(2n ** 63n))).toBe('(-9223372036854775808)');
    expect(literal(2n ** 64n - 1n)).toBe('18446744073709551615');
    expect(() => literal(2n ** 64n)).toThrow(RangeError);
    expect(() => literal(-(2n ** 63n) - 1n)).toThrow(RangeError);
  });

  it('binds floats in round-trip form', () => {
    expect(literal(0.1)).toBe('0.1');
    expect(literal(1e-7)).toBe('1e-7');
    expect(literal(1e21)).toBe('1e+21');
  });

  it('rejects NaN, infinities and subnormals (which 18.16 cannot parse)', () => {
    expect(() => literal(5e-324)).toThrow(/subnormal/);
    expect(() => literal(-1e-310)).toThrow(/subnormal/);
    expect(() => literal(Number.NaN)).toThrow(/finite/);
    expect(() => literal(Number.POSITIVE_INFINITY)).toThrow(/finite/);
    expect(() => literal(Number.NEGATIVE_INFINITY)).toThrow(/finite/);
  });

  it('binds dates as UTC DateTime, truncated to the second', () => {
    expect(literal(new Date('2026-11-22T10:11:12.999Z'))).toBe("toDateTime('2026-11-22 10:11:12', 'UTC')");
    expect(formatDateTime(new Date(0))).toBe('1970-01-01 00:00:00');
  });

  it('rejects invalid dates and dates outside the DateTime range', () => {
    expect(() => literal(new Date('nope'))).toThrow(/invalid Date/);
    expect(() => literal(new Date('1969-12-31T23:59:59Z'))).toThrow(RangeError);
    expect(() => literal(new Date('2106-02-08T00:00:00Z'))).toThrow(RangeError);
  });

  it('rejects values of other types', () => {
    expect(() => literal(undefined as unknown as SqlValue)).toThrow(TypeError);
    expect(() => literal({} as unknown as SqlValue)).toThrow(TypeError);
    expect(() => literal([1] as unknown as SqlValue)).toThrow(TypeError);
  });
});

describe('identifier', () => {
  it('accepts plain names and refuses anything that would need quoting', () => {
    expect(identifier('tollgate_test_1a2b')).toBe('tollgate_test_1a2b');
    expect(() => identifier('1abc')).toThrow(RangeError);
    expect(() => identifier('a-b')).toThrow(RangeError);
    expect(() => identifier('x; DROP TABLE y')).toThrow(RangeError);
    expect(() => identifier('')).toThrow(RangeError);
  });
});

describe.skipIf(!clickhouseUrl)('literal round-trips through a real ClickHouse server', () => {
  let client: ClickHouseClient;

  beforeAll(() => {
    client = createClickhouse(clickhouseUrl as string);
  });

  afterAll(async () => {
    await client?.close();
  });

  async function selectRow<T>(select: string): Promise<T> {
    const result = await client.query({ query: `SELECT ${select}`, format: 'JSONEachRow' });
    const rows = await result.json<T>();
    expect(rows).toHaveLength(1);
    return rows[0] as T;
  }

  const utf8Hex = (value: string) => Buffer.from(value, 'utf8').toString('hex').toUpperCase();

  it.each(TRICKY_STRINGS)('string: %s', async (_name, value) => {
    const row = await selectRow<{ v: string; h: string; n: string }>(
      `${literal(value)} AS v, hex(${literal(value)}) AS h, toString(length(${literal(value)})) AS n`,
    );
    expect(row.v).toBe(value);
    expect(row.h).toBe(utf8Hex(value));
    expect(Number(row.n)).toBe(Buffer.byteLength(value, 'utf8'));
  });

  it('keeps an injection attempt inside its literal in a WHERE clause', async () => {
    const evil = "x' OR '1'='1";
    const row = await selectRow<{ c: string }>(`toString(count()) AS c FROM system.one WHERE ${literal(evil)} = 'x'`);
    expect(row.c).toBe('0');
  });

  it('round-trips randomly generated strings from a hostile alphabet', async () => {
    const alphabet = ['\\', "'", '"', '`', '\0', '\n', '\r', '\t', '\x1b', '\x7f', ';', '-', '/', '*', '#', '{', '}', 'a', 'é', '😀', ' '];
    let seed = 20261122;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const values = Array.from({ length: 100 }, () =>
      Array.from({ length: 1 + Math.floor(random() * 24) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''),
    );
    const row = await selectRow<Record<string, string>>(values.map((v, i) => `hex(${literal(v)}) AS h${i}`).join(', '));
    values.forEach((value, i) => expect(row[`h${i}`], JSON.stringify(value)).toBe(utf8Hex(value)));
  });

  it.each([0, 1, -1, 42, -5, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER])('integer %d', async (value) => {
    const row = await selectRow<{ v: string }>(`toString(${literal(value)}) AS v`);
    expect(row.v).toBe(String(value));
  });

  it.each([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 64n - 1n])('bigint %s', async (value) => {
    const row = await selectRow<{ v: string }>(`toString(${literal(value)}) AS v`);
    expect(row.v).toBe(value.toString());
  });

  it.each([0.1, -0.25, 1e-7, 123456.789, 1.7976931348623157e308, 2.2250738585072014e-308, -2.2250738585072014e-308])('float %d', async (value) => {
    const row = await selectRow<{ v: number }>(`${literal(value)} AS v`);
    expect(Number(row.v)).toBe(value);
  });

  it('keeps a negative after a minus an operand rather than a comment', async () => {
    const row = await selectRow<{ v: string }>(`toString(1-${literal(-5)}) AS v`);
    expect(row.v).toBe('6');
  });

  it('binds booleans and NULL', async () => {
    const row = await selectRow<{ t: number; f: number; n: number }>(
      `${literal(true)} AS t, ${literal(false)} AS f, isNull(${literal(null)}) AS n`,
    );
    expect(row).toEqual({ t: 1, f: 0, n: 1 });
  });

  it('binds dates as UTC whatever the server time zone', async () => {
    const date = new Date('2026-11-22T10:11:12.345Z');
    const row = await selectRow<{ s: string; u: string }>(
      `toString(${literal(date)}) AS s, toString(toUnixTimestamp(${literal(date)})) AS u`,
    );
    expect(row.s).toBe('2026-11-22 10:11:12');
    expect(Number(row.u)).toBe(Math.floor(date.getTime() / 1000));
  });
});
