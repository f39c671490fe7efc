import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a byte stream into lines incrementally (SSE and NDJSON framing). A decoder keeps multi-byte
 * characters that straddle two chunks intact; "\r\n" and "\n" both end a line.
 */
export class LineSplitter {
  // Made only once a chunk ends inside a character: a chunk that ends on an ASCII byte (as SSE frames
  // and NDJSON lines do) decodes whole, which saves a decoder per stream and a native call per read.
  #decoder: StringDecoder | undefined;
  #rest = '';

  push(chunk: Buffer): string[] {
    const text = this.#rest + this.#decode(chunk);
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
    const last = this.#rest + (this.#decoder?.end() ?? '');
    this.#rest = '';
    const line = last.endsWith('\r') ? last.slice(0, -1) : last;
    return line === '' ? undefined : line;
  }

  #decode(chunk: Buffer): string {
    if (this.#decoder === undefined && (chunk.length === 0 || chunk[chunk.length - 1]! < 0x80)) return chunk.toString('utf8');
    this.#decoder ??= new StringDecoder('utf8');
    return this.#decoder.write(chunk);
  }
}
