import type { Logger } from '../shared/logger.ts';
import type { Attempt } from './attempt.ts';
import type { CallOutcome } from './circuit-breaker.ts';

/** Ends an attempt: records its outcome on the breaker, closes its span, and logs a breaker that moved. */
export function finishAttempt(attempt: Attempt, outcome: CallOutcome, logger: Logger): void {
  const transition = attempt.finish(outcome);
  if (attempt.span) {
    attempt.span.setAttributes({ 'tollgate.outcome': outcome });
    if (outcome === 'failure') attempt.span.fail(new Error('upstream call failed'));
    attempt.span.end();
    attempt.span = undefined;
  }
  if (transition === 'open') {
    logger.warn({ deployment: attempt.state.ref.name }, 'circuit breaker opened: deployment skipped until its cooldown ends');
  } else if (transition === 'closed') {
    logger.info({ deployment: attempt.state.ref.name }, 'circuit breaker closed: deployment back in rotation');
  }
}
