// The console-session module's door: what other modules and the app may use. Everything else in the folder is private.
export { ConsoleSessionService } from './console-session.service.ts';
export type { ConsoleSessionTable } from './console-session.table.ts';
export { ConsoleSso } from './console-sso.ts';
export type { SsoTransaction } from './console-sso.ts';
export { SignedTokens } from './session-token.ts';
