import type { CompletionResult } from '../../modules/completion/index.ts';
import { withModel } from '../../shared/json-text.ts';
import { usageJson } from './usage-json.ts';

/**
 * The upstream's one-shot answer as it came, with `model` set to the name the client asked for. When
 * the upstream reported no usage, the gateway's count takes its place, as the usage event records it.
 */
export function relayedAnswer(wire: string, result: CompletionResult): string {
  if (!result.usage.estimated) return withModel(wire, JSON.stringify(result.model));
  const answer = JSON.parse(wire) as Record<string, unknown>;
  answer.model = result.model;
  answer.usage = usageJson(result.usage);
  return JSON.stringify(answer);
}
