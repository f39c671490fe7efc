// The api-key module's door: what other modules and the app may use. Everything else in the folder is private.
export { normaliseScopes } from './api-key-scopes.ts';
export { apiKeyIdOf, apiKeyPrefix, looksLikeApiKey } from './api-key-secret.ts';
export { findApiKeyById } from './api-key.repository.ts';
export { ApiKeyService } from './api-key.service.ts';
export type { ApiKeyTable } from './api-key.table.ts';
export { LastUsedTracker } from './last-used-tracker.ts';
export { createLocalRevocationBus, createRedisRevocationBus } from './revocation-bus.ts';
export type { RevocationBus } from './revocation-bus.ts';
