import {
  execute,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  locatedError,
  responsePathAsArray,
  type ExecutionArgs,
  type ExecutionResult,
  type FragmentDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { executeEvent, planSubscriptionEvents, type EventPlan } from './subscription-event-plan.ts';

// The executor runs each event of a subscription through the whole operation again: a new execution
// context, the field plan and the arguments worked out anew, an async generator per event. Here the
// subscription is planned once and each event only runs its resolvers. What cannot be planned, and an
// operation whose variables are refused, goes to the executor as before, so its errors stay the same.

type MaskError = (error: unknown) => GraphQLError;

/**
 * Answers a subscription it can plan with the planned stream, masking errors itself, and stops there:
 * the hooks of later plugins (yoga's masked errors) would otherwise map every event, errors or not.
 * So it must come last among the plugins that hook subscriptions.
 */
export function plannedSubscriptionsPlugin(mask: MaskError): Plugin {
  return {
    onSubscribe: ({ args, setResultAndStopExecution }) => subscribePlanned(args, mask)?.then((result) => setResultAndStopExecution(result as never)),
  };
}

/** The planned stream, or undefined when the executor is to run the operation. */
export function subscribePlanned(args: ExecutionArgs, mask: MaskError): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> | undefined {
  const plan = planFor(args);
  if (plan === undefined) return undefined;
  return openEvents(plan).then((stream) => (Symbol.asyncIterator in stream ? plannedEvents(stream, plan, args, mask) : masked(stream, mask)));
}

/** An event's errors masked as yoga masks them; an event without errors as it is. */
function masked(result: ExecutionResult, mask: MaskError): ExecutionResult {
  return result.errors ? { ...result, errors: result.errors.map(mask) } : result;
}

/** graphql-js's createSourceEventStream, with the root field's arguments the plan already holds. */
async function openEvents(plan: EventPlan): Promise<AsyncIterable<unknown> | ExecutionResult> {
  const { root, scope } = plan;
  let stream: unknown;
  try {
    stream = await plan.subscribe(scope.rootValue, root.args, scope.contextValue, root.info!);
    if (stream instanceof Error) throw stream;
  } catch (error) {
    return { errors: [locatedError(error, root.fieldNodes, responsePathAsArray(root.info!.path))] };
  }
  if (typeof stream !== 'object' || stream === null || !(Symbol.asyncIterator in stream)) throw new Error(`Subscription field must return Async Iterable. Received: ${String(stream)}.`);
  return stream as AsyncIterable<unknown>;
}

function planFor(args: ExecutionArgs): EventPlan | undefined {
  // A cancellable operation keeps the executor, which ends its stream on the signal.
  if ('signal' in args && args.signal !== undefined) return undefined;
  const operation = getOperationAST(args.document, args.operationName);
  if (operation?.operation !== 'subscription') return undefined;
  const variables = getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {});
  if (variables.coerced === undefined) return undefined;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of args.document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  return planSubscriptionEvents({ schema: args.schema, fragments, operation, variableValues: variables.coerced, rootValue: args.rootValue, contextValue: args.contextValue });
}

/** The source's events as results; closing it closes the source, and a source's failure is the operation's error, as the executor has it. */
function plannedEvents(source: AsyncIterable<unknown>, plan: EventPlan, args: ExecutionArgs, mask: MaskError): AsyncIterableIterator<ExecutionResult> {
  const events = source[Symbol.asyncIterator]();
  const close = () => events.return?.() ?? Promise.resolve({ value: undefined, done: true as const });
  const result = (event: IteratorResult<unknown>): IteratorResult<ExecutionResult> | Promise<IteratorResult<ExecutionResult>> => {
    if (event.done) return { value: undefined, done: true };
    const planned = executeEvent(plan, event.value);
    if (planned !== undefined) return { value: masked(planned, mask), done: false };
    // A resolver that turned out to be async: graphql-js's own execution of the event.
    return Promise.resolve(execute({ ...args, rootValue: event.value })).then((value) => ({ value: masked(value, mask), done: false }));
  };
  const failure = async (error: unknown): Promise<never> => {
    const wrapped = new GraphQLError((error as Error).message, { originalError: error as Error, nodes: [plan.scope.operation] });
    await close().catch(() => undefined);
    throw mask(wrapped);
  };
  return {
    next: () => events.next().then(result, failure),
    return: () => close().then(result, failure),
    throw: (error: unknown) => (events.throw ? events.throw(error).then(result, failure) : failure(error)),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
