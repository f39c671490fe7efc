import type { ProviderConfig } from '../config.ts';
import { OllamaProvider } from './ollama/ollama-provider.ts';
import { OpenAiCompatibleProvider } from './openai-compatible/openai-compatible-provider.ts';
import type { LlmProvider } from './provider.ts';

export interface ProviderSettings {
  /** The provider's own key, already read from the environment variable its config names. */
  apiKey?: string;
  connectTimeoutMs?: number;
}

/** Builds the adapter a provider entry of the YAML asks for. */
export function createProvider(config: ProviderConfig, settings: ProviderSettings = {}): LlmProvider {
  const options = { name: config.name, baseUrl: config.baseUrl, responses: config.responses ?? false, ...settings };
  switch (config.type) {
    case 'openai':
      return new OpenAiCompatibleProvider(options);
    case 'ollama':
      return new OllamaProvider(options);
  }
}

/** The bearer key a provider entry names through apiKeyEnv, if the variable is set. */
export function providerApiKey(config: ProviderConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!config.apiKeyEnv) return undefined;
  const value = env[config.apiKeyEnv];
  return value === undefined || value === '' ? undefined : value;
}
