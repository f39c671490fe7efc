import { Writable } from 'node:stream';
import { configSchema } from '../../src/config.ts';
import { ExperimentService } from '../../src/modules/experiment/experiment.service.ts';
import type { UsageStore } from '../../src/modules/usage/usage-store.ts';
import { promptTokensBySize } from '../../src/providers/token-estimator.ts';
import type { ChatMessage } from '../../src/providers/provider.ts';
import { capabilitiesNeeded } from '../../src/router/capabilities-needed.ts';
import type { RequestFacts } from '../../src/router/route-rules.ts';
import { createRouter } from '../../src/router/router.ts';
import { createLocalBroadcast } from '../../src/shared/broadcast.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { openSqlDatabase } from '../../src/storage/sql-database.ts';
import { migrateSql } from '../../src/storage/sql-migrations.ts';

// node test/bench/routing.ts: CPU per request of choosing the model, as the completion service does it:
// a plain model name (what every request already paid), a route of five rules (the request's needs,
// its size and the tenant's plan checked against them), and a route behind an experiment's sticky
// assignment. The difference to the plain name is what routes and experiments add.

const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
const price = (perMillion: string) => ({ inputPerMillion: perMillion, outputPerMillion: perMillion, currency: 'USD' });
const deployment = (model: string) => [{ provider: 'gpu-a', model, weight: 1 }];
const config = configSchema.parse({
  inference: {
    providers: [{ name: 'gpu-a', type: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }],
    models: [
      { name: 'small', contextWindow: 1_000, capabilities: [], deployments: deployment('s'), price: price('0.10') },
      { name: 'mid', contextWindow: 4_000, capabilities: [], deployments: deployment('m'), price: price('1.00') },
      { name: 'large', contextWindow: 20_000, capabilities: [], deployments: deployment('l'), price: price('3.00') },
      { name: 'tooly', contextWindow: 8_000, capabilities: ['tools'], deployments: deployment('t'), price: price('5.00') },
      { name: 'premium', contextWindow: 8_000, deployments: deployment('p'), price: price('10.00') },
    ],
    routes: [
      {
        name: 'auto',
        rules: [
          { name: 'tools', when: { needs: ['tools'] }, models: ['tooly'] },
          { name: 'vision', when: { needs: ['vision'] }, models: ['premium'] },
          { name: 'enterprise', when: { plans: ['enterprise'] }, models: ['premium'] },
          { name: 'budget', when: { plans: ['starter', 'pro'] }, models: ['large', 'mid', 'small'], choose: 'cheapest', maxCost: '0.005' },
          { name: 'fit', models: ['small', 'large'] },
        ],
        default: 'small',
      },
    ],
  },
});

const router = createRouter({ inference: config.inference, logger });
const db = await openSqlDatabase({ inMemory: true });
await migrateSql(db.db);
const experiments = await ExperimentService.start({ db: db.db, broadcast: createLocalBroadcast(logger), logger, isModel: (name) => router.routable(name), store: {} as UsageStore });
await experiments.create({ principal: { kind: 'platform', tenantId: undefined, userId: undefined }, requestId: 'bench' }, {
  model: 'chat',
  tenantId: null,
  stickiness: 'USER',
  variants: [{ name: 'a', model: 'auto', weight: 80 }, { name: 'b', model: 'large', weight: 20 }],
});

// A typical chat request: a system prompt, a question of a few hundred bytes, no tools.
const messages: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant for a SaaS analytics product. Answer briefly.' },
  { role: 'user', content: 'How do I compare last month with this month in the revenue dashboard? '.repeat(4) },
];
const tenant = { autoFailover: true, planId: 'pro' };
const facts = (): RequestFacts => ({ needs: capabilitiesNeeded(messages, undefined), promptTokens: promptTokensBySize(messages), maxTokens: 512, planId: tenant.planId });

const scenarios: [string, (i: number) => unknown][] = [
  ['plain model name', () => router.select('small', 'chat', tenant, facts)],
  ['route (5 rules)', () => router.select('auto', 'chat', tenant, facts)],
  ['experiment + route', (i) => router.select('chat', 'chat', tenant, facts, experiments.assign('t-1', 'chat', `user-${i % 5_000}`)?.model)],
];

const iterations = 200_000;
const cpuPerRequest = (run: (i: number) => unknown) => {
  for (let i = 0; i < 20_000; i++) run(i);
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) run(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / iterations;
};

const results = new Map<string, number[]>();
for (let round = 0; round < 5; round++) {
  for (const [name, run] of scenarios) results.set(name, [...(results.get(name) ?? []), cpuPerRequest(run)]);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const plain = median(results.get('plain model name')!);
for (const [name, values] of results) {
  const value = median(values);
  console.log(`${name.padEnd(20)} ${value.toFixed(2)} µs CPU per request${name === 'plain model name' ? '' : `  (+${(value - plain).toFixed(2)} µs)`}`);
}
experiments.close();
await router.close();
await db.db.destroy();
