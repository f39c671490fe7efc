import { TollgateError } from '../../../client/src/errors.ts';
import { ConsoleError } from '../session.ts';

/** Any failure, announced: the gateway's message and the request id to quote when reporting it. */
export function ErrorAlert({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const message = error instanceof Error ? error.message : String(error);
  const requestId = error instanceof TollgateError || error instanceof ConsoleError ? error.requestId : undefined;
  return (
    <div role="alert" className="alert">
      <p>{message}</p>
      {requestId && (
        <p className="muted">
          Request ID: <code>{requestId}</code>
        </p>
      )}
    </div>
  );
}
