// An upstream that speaks OpenAI's wire answers in the shape the client expects; only `model` changes
// (to the name the client asked for), and a replayed answer's id. Answers and stream events have these
// rewritten in their text rather than being parsed and serialised again.

const quote = 0x22;
const backslash = 0x5c;
const colon = 0x3a;

/** The index of the quote that closes the JSON string opened at `open`. */
function stringEnd(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === backslash) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}

function skipSpace(text: string, at: number): number {
  let i = at;
  while (i < text.length && text.charCodeAt(i) <= 0x20) i++;
  return i;
}

/**
 * Where the string value of the top-level `key` sits in a JSON object's text: [start, end) spans the
 * quoted value. Undefined when the key is absent at the top level or its value is not a string. Strings
 * are skipped whole, so a key inside one (a tool call's arguments) or deeper in the object never matches.
 */
export function topLevelString(text: string, key: string): [number, number] | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === quote) {
      const close = stringEnd(text, i);
      if (depth === 1 && close - i - 1 === key.length && text.startsWith(key, i + 1)) {
        const colonAt = skipSpace(text, close + 1);
        if (text.charCodeAt(colonAt) !== colon) return undefined;
        const valueAt = skipSpace(text, colonAt + 1);
        return text.charCodeAt(valueAt) === quote ? [valueAt, stringEnd(text, valueAt) + 1] : undefined;
      }
      i = close;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}

/** The JSON object's text with its top-level `key` set to `quotedValue` (a JSON string literal), if it has that key. */
export function withTopLevelString(text: string, key: string, quotedValue: string): string {
  const span = topLevelString(text, key);
  if (span) return text.slice(0, span[0]) + quotedValue + text.slice(span[1]);
  const object = JSON.parse(text) as Record<string, unknown>;
  if (!(key in object)) return text;
  object[key] = JSON.parse(quotedValue) as string;
  return JSON.stringify(object);
}

/** The JSON object's text with its top-level `model` set to `quotedModel` (a JSON string literal). */
export const withModel = (text: string, quotedModel: string): string => withTopLevelString(text, 'model', quotedModel);
