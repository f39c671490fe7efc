// What every stored string is checked for at the edge: Postgres refuses a NUL byte (and a lone surrogate
// once escaped in JSON), ClickHouse a lone surrogate, an index a value past a few kilobytes; control
// characters in a name or an id only hide what it says in logs and reports.

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');
// C0 controls but tab, newline and carriage return, DEL and C1 controls: finding them is the point.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const LINE_BREAK = /[\t\n\r]/;

export interface StoredTextRule {
  /** Longest value accepted, in UTF-16 code units (String.length). */
  maxLength: number;
  /** Allows tab, newline and carriage return (free text such as a description); names and ids refuse them. */
  multiline?: boolean;
}

/** Why a value cannot be stored as given ("contains a NUL byte", ...), or null when it can. */
export function storedTextProblem(value: string, rule: StoredTextRule): string | null {
  if (value.length > rule.maxLength) return `is longer than ${rule.maxLength} characters`;
  if (value.includes('\u0000')) return 'contains a NUL byte';
  if (LONE_SURROGATE.test(value)) return 'contains a lone surrogate (not valid Unicode)';
  if (CONTROL.test(value) || (!rule.multiline && LINE_BREAK.test(value))) return 'contains a control character';
  return null;
}

/** A form every text column and log line holds: NUL bytes and lone surrogates become U+FFFD. */
export function storableText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATES, '\uFFFD');
}
