import { useCallback, useEffect, useState } from 'react';
import { UnauthenticatedError } from '../../client/src/errors.ts';
import { ViewerDocument } from '../../client/src/generated/graphql.ts';
import { api } from './api.ts';
import { ErrorAlert } from './components/ErrorAlert.tsx';
import { Loading } from './components/Loading.tsx';
import { SignIn } from './screens/SignIn.tsx';
import { onSessionEnded } from './session-ended.ts';
import { Shell } from './Shell.tsx';
import { ViewerContext, type Viewer } from './viewer.ts';

type SessionState = { status: 'checking' } | { status: 'signed-out'; notice?: unknown } | { status: 'signed-in'; viewer: Viewer } | { status: 'failed'; error: unknown };

/** Asks the gateway who the session cookie belongs to; no cookie, or an ended session, shows sign-in. */
export function App() {
  const [session, setSession] = useState<SessionState>({ status: 'checking' });
  const check = useCallback(async (notice?: unknown) => {
    try {
      const { viewer } = await api.execute(ViewerDocument);
      setSession(viewer.kind === 'ANONYMOUS' ? { status: 'signed-out', notice } : { status: 'signed-in', viewer });
    } catch (error) {
      setSession(error instanceof UnauthenticatedError ? { status: 'signed-out', notice: notice ?? error } : { status: 'failed', error });
    }
  }, []);
  useEffect(() => {
    void check();
  }, [check]);
  // A call refused because the session ended (sign-out elsewhere, the key revoked) returns to sign-in.
  useEffect(() => onSessionEnded((error) => setSession({ status: 'signed-out', notice: error })), []);

  switch (session.status) {
    case 'checking':
      return <Loading what="your session" />;
    case 'failed':
      return (
        <main className="centered">
          <ErrorAlert error={session.error} />
        </main>
      );
    case 'signed-out':
      return <SignIn notice={session.notice} onSignedIn={() => void check()} />;
    case 'signed-in':
      return (
        <ViewerContext.Provider value={session.viewer}>
          <Shell onSignedOut={() => setSession({ status: 'signed-out' })} />
        </ViewerContext.Provider>
      );
  }
}
