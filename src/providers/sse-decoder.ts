/**
 * Assembles server-sent events from lines and hands back each event's data. Comments (": keep-alive",
 * OpenRouter's ": PROCESSING") and the event/id/retry fields carry nothing the adapters use.
 */
export class SseDecoder {
  #data: string[] = [];

  /** Feeds one line; returns the event's data when this line completes an event. */
  push(line: string): string | undefined {
    if (line === '') return this.flush();
    if (line.startsWith('data:')) {
      this.#data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
    }
    return undefined;
  }

  /** Data of an event left open when the stream ended without its blank line. */
  flush(): string | undefined {
    if (this.#data.length === 0) return undefined;
    const data = this.#data.length === 1 ? (this.#data[0] as string) : this.#data.join('\n');
    this.#data = [];
    return data;
  }
}
