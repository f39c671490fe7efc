import { UnauthenticatedError } from '../../client/src/errors.ts';

const eventName = 'tollgate-session-ended';

/** Any call refused as unauthenticated means the session ended (signed out elsewhere, key revoked, expired). */
export function reportIfSessionEnded(error: unknown): void {
  if (error instanceof UnauthenticatedError) window.dispatchEvent(new CustomEvent(eventName, { detail: error }));
}

export function onSessionEnded(listener: (error: UnauthenticatedError) => void): () => void {
  const handler = (event: Event) => listener((event as CustomEvent<UnauthenticatedError>).detail);
  window.addEventListener(eventName, handler);
  return () => window.removeEventListener(eventName, handler);
}
