import {
  GraphQLBoolean,
  GraphQLError,
  GraphQLInt,
  GraphQLInterfaceType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  responsePathAsArray,
  subscribe,
  type ExecutionArgs,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { subscribePlanned } from './planned-subscriptions.ts';

interface Event {
  delta: string;
  usage?: { total: number } | null;
  parts?: ({ total: number } | null)[];
  strictIsNull?: boolean;
}

const Usage = new GraphQLObjectType<{ total: number }>({
  name: 'Usage',
  fields: {
    total: { type: new GraphQLNonNull(GraphQLInt) },
    broken: { type: GraphQLInt, resolve: () => { throw new Error('broken usage'); } },
    brokenStrict: { type: new GraphQLNonNull(GraphQLInt), resolve: () => null },
    path: { type: GraphQLString, resolve: (_usage, _args, _context, info) => `${responsePathAsArray(info.path).join('.')} in ${info.parentType.name}` },
  },
});
const Named = new GraphQLInterfaceType({ name: 'Named', fields: { name: { type: GraphQLString } } });
const Model = new GraphQLObjectType({ name: 'Model', interfaces: [Named], fields: { name: { type: GraphQLString } }, isTypeOf: () => true });
const Chunk = new GraphQLObjectType<Event>({
  name: 'Chunk',
  fields: {
    delta: { type: new GraphQLNonNull(GraphQLString) },
    usage: { type: Usage },
    parts: { type: new GraphQLList(new GraphQLNonNull(Usage)) },
    failing: { type: GraphQLString, resolve: () => { throw new Error('failing field'); } },
    strict: { type: new GraphQLNonNull(GraphQLString), resolve: (event) => (event.strictIsNull ? null : 'strict') },
    shout: { type: GraphQLString, args: { times: { type: GraphQLInt, defaultValue: 1 } }, resolve: (event, { times }: { times: number }) => event.delta.repeat(times) },
    model: { type: Named, resolve: () => ({ name: 'm' }) },
    event: { type: GraphQLString, resolve: (_event, _args, _context, info) => (info.rootValue as Event).delta },
    later: { type: GraphQLString, resolve: (event) => Promise.resolve(event.delta) },
  },
});

const events: Event[] = [
  { delta: 'a', usage: null, parts: [{ total: 1 }] },
  { delta: 'b', usage: { total: 3 }, parts: [{ total: 2 }, null] },
  { delta: 'c', strictIsNull: true },
];

let closedSources = 0;
async function* chunks(count: number, failAfter: number | null): AsyncGenerator<Event> {
  try {
    for (const [i, event] of events.slice(0, count).entries()) {
      if (i === failAfter) throw new Error('upstream went away');
      yield event;
    }
  } finally {
    closedSources++;
  }
}

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLBoolean } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      chunks: {
        type: new GraphQLNonNull(Chunk),
        args: { count: { type: new GraphQLNonNull(GraphQLInt) }, failAfter: { type: GraphQLInt } },
        subscribe: async (_root, { count, failAfter }: { count: number; failAfter?: number }) => {
          if (count < 1) throw new Error('nothing to stream');
          return chunks(count, failAfter ?? null);
        },
        resolve: (event: Event) => event,
      },
    },
  }),
  types: [Model],
});

const args = (query: string, variableValues?: Record<string, unknown>): ExecutionArgs => ({ schema, document: parse(query), variableValues });

/** Every event of a subscription as a client receives it (errors as their JSON). */
async function collect(result: unknown): Promise<unknown[]> {
  const stream = (await result) as AsyncIterable<unknown> | object;
  if (!(Symbol.asyncIterator in stream)) return [JSON.parse(JSON.stringify(stream))];
  const received: unknown[] = [];
  for await (const event of stream) received.push(JSON.parse(JSON.stringify(event)));
  return received;
}

const unmasked = (error: unknown) => error as GraphQLError;

describe('planned subscriptions', () => {
  it.each([
    ['aliases, fragments, __typename and a skipped field', 'subscription($all: Boolean!) { chunks(count: 3) { __typename text: delta ...U d: delta @include(if: $all) } } fragment U on Chunk { usage { total } parts { total } }', { all: false }],
    ['an argument with its default and one given inline', 'subscription { chunks(count: 2) { shout once: shout(times: 1) twice: shout(times: 2) event } }', undefined],
    ['a resolver that throws, on a nullable field and under a nullable parent', 'subscription { chunks(count: 2) { delta failing usage { total broken } } }', undefined],
    ['a null in a non-null field, up to the parent or to the root', 'subscription { chunks(count: 3) { delta strict usage { brokenStrict } } }', undefined],
    ['a null item in a list of non-null items', 'subscription { chunks(count: 2) { parts { total } } }', undefined],
    ["each resolver's path, in a list and out of one", 'subscription { c: chunks(count: 2) { usage { path } parts { path } } }', undefined],
    ['a resolver that answers with a promise', 'subscription { chunks(count: 2) { delta later } }', undefined],
    ['the arguments in variables', 'subscription($n: Int!) { chunks(count: $n) { delta } }', { n: 2 }],
  ])('gives what graphql-js gives, without the executor: %s', async (_name, query, variables) => {
    const planned = await collect(subscribePlanned(args(query, variables), unmasked));
    expect(planned).toEqual(await collect(subscribe(args(query, variables))));
    expect(planned.length).toBeGreaterThan(1);
  });

  it('gives the error graphql-js gives when the stream cannot be opened, without the executor', async () => {
    const query = 'subscription { chunks(count: 0) { delta } }';
    const planned = await collect(subscribePlanned(args(query), unmasked));
    expect(planned).toEqual(await collect(subscribe(args(query))));
    expect(planned).toEqual([{ errors: [{ message: 'nothing to stream', locations: [{ line: 1, column: 16 }], path: ['chunks'] }] }]);
  });

  it.each([
    ['an abstract type in the selection', 'subscription { chunks(count: 2) { delta model { name } } }', undefined],
    ['variables that do not coerce', 'subscription($n: Int!) { chunks(count: $n) { delta } }', { n: 'two' }],
    ['two operations and no name', 'subscription A { chunks(count: 1) { delta } } subscription B { chunks(count: 1) { delta } }', undefined],
    ['no root field left', 'subscription($skip: Boolean!) { chunks(count: 1) @skip(if: $skip) { delta } }', { skip: true }],
  ])('leaves the operation to the executor: %s', (_name, query, variables) => {
    expect(subscribePlanned(args(query, variables), unmasked)).toBeUndefined();
  });

  it('closes the source when the subscription is closed', async () => {
    const closedBefore = closedSources;
    const stream = (await subscribePlanned(args('subscription { chunks(count: 3) { delta } }'), unmasked)) as AsyncIterableIterator<unknown>;
    expect(await stream.next()).toEqual({ value: { data: { chunks: { delta: 'a' } } }, done: false });
    expect(await stream.return!()).toEqual({ value: undefined, done: true });
    expect(closedSources).toBe(closedBefore + 1);
  });

  it("makes a source's failure the operation's error, located at the operation", async () => {
    const stream = (await subscribePlanned(args('subscription { chunks(count: 3, failAfter: 1) { delta } }'), unmasked)) as AsyncIterableIterator<unknown>;
    expect(await stream.next()).toEqual({ value: { data: { chunks: { delta: 'a' } } }, done: false });
    const failure = await stream.next().then(() => undefined, (error: unknown) => error);
    expect(failure).toMatchObject({ name: 'GraphQLError', message: 'upstream went away', locations: [{ line: 1, column: 1 }], originalError: { message: 'upstream went away' } });
  });

  it('masks the errors of the events that have some, and the failure of the source', async () => {
    const mask = (error: unknown) => new GraphQLError(`masked: ${(error as Error).message}`);
    const stream = (await subscribePlanned(args('subscription { chunks(count: 3, failAfter: 2) { delta failing } }'), mask)) as AsyncIterableIterator<unknown>;
    const received: unknown[] = [];
    const failure = await (async () => {
      for await (const event of stream) received.push(JSON.parse(JSON.stringify(event)));
    })().then(() => undefined, (error: unknown) => error);
    expect(received).toEqual([
      { errors: [{ message: 'masked: failing field' }], data: { chunks: { delta: 'a', failing: null } } },
      { errors: [{ message: 'masked: failing field' }], data: { chunks: { delta: 'b', failing: null } } },
    ]);
    expect(failure).toMatchObject({ message: 'masked: upstream went away' });
    const clean = (await subscribePlanned(args('subscription { chunks(count: 1) { delta } }'), mask)) as AsyncIterableIterator<unknown>;
    expect(await clean.next()).toEqual({ value: { data: { chunks: { delta: 'a' } } }, done: false });
  });
});
