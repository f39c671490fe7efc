// The inference-config module's door: what other modules and the app may use. Everything else in the folder is private.
export { rotateCredentials } from './credential-rotation.ts';
export { InferenceConfigService } from './inference-config.service.ts';
export type { InferenceConfigTable, ProviderCredentialTable } from './inference-config.table.ts';
