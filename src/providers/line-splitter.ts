import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a byte stream into lines incrementally (SSE and NDJSON framing). The decoder keeps multi-byte
 * characters that straddle two chunks intact; "\r\n" and "\n" both end a line.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #rest = '';

  push(chunk: Buffer): string[] {
    const text = this.#rest + this.#decoder.write(chunk);
    const lines: string[] = [];
    let start = 0;
    let end = text.indexOf('\n', start);
    while (end !== -1) {
      lines.push(text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end));
      start = end + 1;
      end = text.indexOf('\n', start);
    }
    this.#rest = start === 0 ? text : text.slice(start);
    return lines;
  }

  /** The unterminated last line, if any, once the stream has ended. */
  end(): string | undefined {
    const last = this.#rest + this.#decoder.end();
    this.#rest = '';
    const line = last.endsWith('\r') ? last.slice(0, -1) : last;
    return line === '' ? undefined : line;
  }
}
