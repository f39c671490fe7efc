import { useEffect, useState, type FormEvent } from 'react';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { signIn, ssoAvailable, takeSsoError } from '../session.ts';

/** The secret goes to the gateway once, in the sign-in request; only the cookie it answers with stays. */
export function SignIn({ notice, onSignedIn }: { notice?: unknown; onSignedIn: () => void }) {
  const [error, setError] = useState<unknown>(() => takeSsoError() ?? notice);
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState(false);
  useEffect(() => {
    ssoAvailable().then(setSso, () => setSso(false));
  }, []);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const secret = new FormData(form).get('secret');
    setBusy(true);
    setError(undefined);
    try {
      await signIn(typeof secret === 'string' ? secret : '');
      form.reset();
      onSignedIn();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="centered">
      <h1>Tollgate console</h1>
      <form className="card sign-in" onSubmit={(event) => void submit(event)}>
        <label htmlFor="secret">Secret</label>
        <input id="secret" name="secret" type="password" autoComplete="off" required aria-describedby="secret-help" />
        <p id="secret-help" className="muted">
          The platform admin key, an API key with the admin or usage:read scope, or a dashboard token.
        </p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {sso && (
          <a className="button-link" href="/console/sso/start">
            Sign in with SSO
          </a>
        )}
        <ErrorAlert error={error} />
      </form>
    </main>
  );
}
