import type { Capability } from '../config.ts';
import type { ChatMessage } from '../providers/provider.ts';

/** The capability a request needs, and the request field that needs it (named in a refusal). */
export interface Need {
  capability: Capability;
  field: string;
}

/** What a chat request asks of its deployment: tools, images, a response format, reasoning. */
export function capabilitiesNeeded(messages: readonly ChatMessage[], fields: Record<string, unknown> | undefined): Need[] {
  const needs: Need[] = [];
  if (Array.isArray(fields?.tools) && fields.tools.length > 0) needs.push({ capability: 'tools', field: 'tools' });
  const imageAt = messages.findIndex((message) => Array.isArray(message.content) && message.content.some((part) => part.type === 'image_url'));
  if (imageAt !== -1) needs.push({ capability: 'vision', field: `messages[${imageAt}].content` });
  const format = fields?.response_format as { type?: unknown } | undefined;
  if (format?.type === 'json_schema' || format?.type === 'json_object') needs.push({ capability: 'structured_output', field: 'response_format' });
  if (fields?.reasoning_effort != null) needs.push({ capability: 'reasoning', field: 'reasoning_effort' });
  return needs;
}
