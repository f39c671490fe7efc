/**
 * Assembles server-sent events from lines and hands back each event's data. Comments (": keep-alive",
 * OpenRouter's ": PROCESSING") and the event/id/retry fields carry nothing the adapters use.
 */
export class SseDecoder {
  // An event's data is one line far more often than several: it is held as a string, not in an array per event.
  #data: string | undefined;

  /** Feeds one line; returns the event's data when this line completes an event. */
  push(line: string): string | undefined {
    if (line === '') return this.flush();
    if (line.startsWith('data:')) {
      const data = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      this.#data = this.#data === undefined ? data : `${this.#data}\n${data}`;
    }
    return undefined;
  }

  /** Data of an event left open when the stream ended without its blank line. */
  flush(): string | undefined {
    const data = this.#data;
    this.#data = undefined;
    return data;
  }
}
