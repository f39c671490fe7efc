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

/** What a Responses API request asks of its deployment: tools, input images, a text format, reasoning. */
export function responsesCapabilitiesNeeded(request: Record<string, unknown>): Need[] {
  const needs: Need[] = [];
  if (Array.isArray(request.tools) && request.tools.length > 0) needs.push({ capability: 'tools', field: 'tools' });
  const input = Array.isArray(request.input) ? (request.input as { content?: unknown }[]) : [];
  const imageAt = input.findIndex((item) => Array.isArray(item?.content) && (item.content as { type?: unknown }[]).some((part) => part?.type === 'input_image'));
  if (imageAt !== -1) needs.push({ capability: 'vision', field: `input[${imageAt}].content` });
  const format = (request.text as { format?: { type?: unknown } } | null | undefined)?.format;
  if (format?.type === 'json_schema' || format?.type === 'json_object') needs.push({ capability: 'structured_output', field: 'text.format' });
  if ((request.reasoning as { effort?: unknown } | null | undefined)?.effort != null) needs.push({ capability: 'reasoning', field: 'reasoning.effort' });
  return needs;
}

/** What a chat request (or a Responses request passed through) asks of its deployment. */
export function requestNeeds(request: { messages: readonly ChatMessage[]; wire?: Record<string, unknown>; extra?: Record<string, unknown>; responses?: Record<string, unknown> }): Need[] {
  return request.responses ? responsesCapabilitiesNeeded(request.responses) : capabilitiesNeeded(request.messages, request.wire ?? request.extra);
}
