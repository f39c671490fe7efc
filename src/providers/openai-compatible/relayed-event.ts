// An upstream that speaks OpenAI's wire answers in the shape the client expects; only `model` changes
// (to the name the client asked for). Stream events have it rewritten in their text rather than being
// serialised again.

const modelKey = '"model":"';

/** The event's data with `model` set to `quotedModel` (a JSON string literal). */
export function withModel(data: string, quotedModel: string): string {
  const at = data.indexOf(modelKey);
  if (at !== -1) {
    const valueStart = at + modelKey.length - 1;
    const valueEnd = data.indexOf('"', valueStart + 1);
    // A backslash before the closing quote means an escaped name: the slow path handles it.
    if (valueEnd !== -1 && data.charCodeAt(valueEnd - 1) !== 0x5c) return data.slice(0, valueStart) + quotedModel + data.slice(valueEnd + 1);
  }
  const event = JSON.parse(data) as Record<string, unknown>;
  if (!('model' in event)) return data;
  event.model = JSON.parse(quotedModel) as string;
  return JSON.stringify(event);
}
