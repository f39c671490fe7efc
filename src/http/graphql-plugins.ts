import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { NoSchemaIntrospectionCustomRule, type GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.ts';

/**
 * Limits on what one GraphQL document may ask for. They are envelop parse and validate hooks, so they
 * apply over HTTP and over graphql-ws alike (its onSubscribe runs yoga.getEnveloped's parse and validate).
 */
export function graphqlSecurityPlugins(config: Pick<Config, 'graphql' | 'production'>): Plugin[] {
  const rules = graphqlLimitRules(config.graphql);
  const plugins: Plugin[] = [
    maxTokensPlugin({ n: config.graphql.maxTokens }),
    { onValidate: ({ addValidationRule }) => rules.forEach((rule) => addValidationRule(rule)) },
    // Browsers send no custom header (and no Authorization) on a "simple" cross-site request, so a
    // request carrying one passed a CORS preflight. JSON POSTs are never simple and pass as they are.
    useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'authorization'] }),
  ];
  if (!introspectionEnabled(config)) plugins.push(disableIntrospection);
  // "Did you mean ...?" would list fields to someone probing the schema with introspection off.
  if (config.production) plugins.push(blockFieldSuggestionsPlugin({ mask: '' }));
  return plugins;
}

/**
 * Depth, aliases, directives and cost, as validation rules. Depth counts fields with a selection set;
 * a fragment spread adds no level of its own. A literal `first: N` multiplies the cost of what is under
 * it; variables are not seen (connections cap `first` at 100 anyway).
 */
export function graphqlLimitRules(limits: Config['graphql']): ValidationRule[] {
  // A refused document is reported as an ordinary validation error rather than thrown, so every
  // transport answers it the same way (HTTP 400, or an error message over WebSocket).
  const report = {
    propagateOnRejection: false,
    onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
  };
  return [
    maxDepthRule({ n: limits.maxDepth, flattenFragments: true, ...report }),
    maxAliasesRule({ n: limits.maxAliases, ...report }),
    maxDirectivesRule({ n: limits.maxDirectives, ...report }),
    costLimitRule({ maxCost: limits.maxCost, flattenFragments: true, ...report }),
  ];
}

/** On unless NODE_ENV=production; TOLLGATE_GRAPHQL_INTROSPECTION decides either way when set. */
export function introspectionEnabled(config: Pick<Config, 'graphql' | 'production'>): boolean {
  return config.graphql.introspection ?? !config.production;
}

const disableIntrospection: Plugin = {
  onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
};
