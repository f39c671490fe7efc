import {
  defaultFieldResolver,
  getNamedType,
  type GraphQLInputObjectType,
  getNullableType,
  isInputObjectType,
  isListType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { badInput } from './shared/errors.ts';
import { storedTextProblem, type StoredTextRule } from './shared/stored-text.ts';

// Every string a caller passes as an argument, anywhere in the schema, is checked here before any
// resolver sees it, so a value a database cannot hold (a NUL byte, a lone surrogate, a megabyte name)
// is BAD_USER_INPUT naming the argument, never an INTERNAL_SERVER_ERROR from the database.

/** Names, ids, model names, credentials: one line, and far shorter than anything a store must index. */
const DEFAULT_RULE: StoredTextRule = { maxLength: 1_024 };

/** Input fields that need another rule, by schema coordinate. */
const RULES: Record<string, StoredTextRule> = {
  // Prompt text goes upstream and is never stored; the body limit bounds it.
  'ChatMessageInput.content': { maxLength: Number.POSITIVE_INFINITY, multiline: true },
  'ContentPartInput.text': { maxLength: Number.POSITIVE_INFINITY, multiline: true },
  // An image may come inline as a data: URL of megabytes.
  'ImageUrlInput.url': { maxLength: Number.POSITIVE_INFINITY },
  'FunctionCallInput.arguments': { maxLength: Number.POSITIVE_INFINITY, multiline: true },
  'SetProviderCredentialInput.apiKey': { maxLength: 8_192 },
  // A template's messages are stored: text of many lines, within what the template service accepts.
  'SavePromptTemplateInput.system': { maxLength: 100_000, multiline: true },
  'SavePromptTemplateInput.user': { maxLength: 100_000, multiline: true },
};

/** Page sizes: a connection asked for no rows, or a negative count, is a mistake worth naming. */
const PAGE_SIZE_ARGUMENTS = new Set(['first', 'last']);

type Check = (value: unknown, path: string) => void;

/** Wraps every field that takes arguments so they are checked first. Returns the same schema. */
export function guardArguments(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const checks = field.args.map((arg) => [arg.name, argumentCheck(arg)] as const).filter((entry): entry is readonly [string, Check] => entry[1] !== null);
      if (checks.length > 0) wrap(field, checks);
    }
  }
  return schema;
}

function wrap(field: GraphQLField<unknown, unknown>, checks: readonly (readonly [string, Check])[]): void {
  const check = (args: Record<string, unknown>) => {
    for (const [name, run] of checks) if (args[name] !== undefined && args[name] !== null) run(args[name], name);
  };
  const guarded = (resolve: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> =>
    function guardedResolve(source, args: Record<string, unknown>, context, info) {
      check(args);
      return resolve(source, args, context, info);
    };
  // A subscription's arguments are checked once, when it starts: each event it then resolves carries
  // the same arguments, and a long prompt would otherwise be scanned again for every chunk.
  if (field.subscribe) field.subscribe = guarded(field.subscribe);
  else field.resolve = guarded(field.resolve ?? defaultFieldResolver);
}

function argumentCheck(arg: GraphQLArgument): Check | null {
  if (PAGE_SIZE_ARGUMENTS.has(arg.name) && getNamedType(arg.type).name === 'Int') {
    return (value, path) => {
      if (typeof value === 'number' && value < 1) throw badInput(`${path} must be at least 1 (it was ${value})`, { argument: path });
    };
  }
  return inputCheck(arg.type, DEFAULT_RULE);
}

const objectChecks = new Map<string, Check | null>();

/** A check for values of `type`, or null when nothing in it is a string. */
function inputCheck(type: GraphQLInputType, rule: StoredTextRule): Check | null {
  const inner = getNullableType(type);
  if (isListType(inner)) {
    const item = inputCheck(inner.ofType, rule);
    if (item === null) return null;
    return (value, path) => {
      if (Array.isArray(value)) value.forEach((entry, index) => entry !== null && item(entry, `${path}[${index}]`));
    };
  }
  if (isInputObjectType(inner)) return objectCheck(inner);
  // Enums and numbers are checked by GraphQL itself; DateTime arrives parsed.
  if (inner.name !== 'String' && inner.name !== 'ID') return null;
  return (value, path) => {
    if (typeof value !== 'string') return;
    const problem = storedTextProblem(value, rule);
    if (problem !== null) throw badInput(`${path} ${problem}`, { argument: path });
  };
}

function objectCheck(type: GraphQLInputObjectType): Check | null {
  if (objectChecks.has(type.name)) return objectChecks.get(type.name)!;
  let resolved: Check | null = null;
  // An input type that refers to itself finds this placeholder while its own check is being built.
  objectChecks.set(type.name, (value, path) => resolved?.(value, path));
  const fieldChecks = Object.values(type.getFields())
    .map((field) => [field.name, inputCheck(field.type, RULES[`${type.name}.${field.name}`] ?? DEFAULT_RULE)] as const)
    .filter((entry): entry is readonly [string, Check] => entry[1] !== null);
  if (fieldChecks.length > 0) {
    resolved = (value, path) => {
      const object = value as Record<string, unknown>;
      for (const [name, check] of fieldChecks) if (object[name] !== undefined && object[name] !== null) check(object[name], `${path}.${name}`);
    };
  }
  objectChecks.set(type.name, resolved);
  return resolved;
}
