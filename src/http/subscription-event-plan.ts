import {
  defaultFieldResolver,
  getArgumentValues,
  getNamedType,
  getNullableType,
  GraphQLError,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  locatedError,
  responsePathAsArray,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields.js';
import type { Path } from 'graphql/jsutils/Path.js';

// A subscription's selection is the same for every event, and so are its variables: its fields, their
// arguments and its fragments are resolved once here, and each event only runs the resolvers. Only
// what can be planned statically is planned (object types, no async resolvers); anything else is left
// to the executor, so the result is always what graphql-js's execution would give.

/** One field of a selection, with everything about it that does not depend on the event. */
interface PlannedField {
  responseName: string;
  fieldName: string;
  fieldNodes: FieldNode[];
  parentType: GraphQLObjectType;
  returnType: GraphQLOutputType;
  resolve: GraphQLField<unknown, unknown>['resolve'] & {};
  args: Record<string, unknown>;
  /** The selection under the field's object type, if it has one. */
  selection: PlannedField[] | undefined;
  /** The resolver's info, the same for every event unless the field is under a list (its path then differs). */
  info: GraphQLResolveInfo | undefined;
}

/** What every resolver's info shares within one subscription. */
interface PlanScope {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  operation: OperationDefinitionNode;
  variableValues: Record<string, unknown>;
  rootValue: unknown;
  contextValue: unknown;
}

/** A plan's scope, and the event it runs on now: resolvers' info gives that event as its rootValue, as graphql-js does. */
interface EventScope extends PlanScope {
  event: unknown;
}

export interface EventPlan {
  scope: EventScope;
  root: PlannedField;
  /** The root field's subscribe resolver, which opens the stream of events. */
  subscribe: GraphQLField<unknown, unknown>['resolve'] & {};
}

/** Thrown where the plan cannot follow graphql-js: the operation goes to the executor, or, met while running an event, that event to graphql-js's execute. */
class Unplannable extends Error {}

const typename = (parent: { name: string }) => parent.name;


/** parentPath is undefined under a list, where each item has a path of its own. */
function planSelection(scope: EventScope, parentType: GraphQLObjectType, fields: Map<string, readonly FieldNode[]>, parentPath: Path | undefined): PlannedField[] {
  return [...fields].map(([responseName, nodes]) => planField(scope, parentType, responseName, [...nodes], parentPath && { prev: parentPath, key: responseName, typename: parentType.name }));
}

function planField(scope: EventScope, parentType: GraphQLObjectType, responseName: string, fieldNodes: FieldNode[], path: Path | undefined): PlannedField {
  const fieldName = fieldNodes[0]!.name.value;
  if (fieldName === '__typename') {
    const returnType = scope.schema.getType('String') as GraphQLOutputType;
    const planned = { responseName, fieldName, fieldNodes, parentType, returnType, resolve: () => typename(parentType), args: {}, selection: undefined };
    return { ...planned, info: path && resolveInfo(scope, planned, path) };
  }
  const field = parentType.getFields()[fieldName];
  if (field === undefined) throw new Unplannable();
  const named = getNamedType(field.type);
  if (!isLeafType(named) && (!isObjectType(named) || named.isTypeOf)) throw new Unplannable();
  let args: Record<string, unknown>;
  try {
    args = getArgumentValues(field, fieldNodes[0]!, scope.variableValues);
  } catch {
    throw new Unplannable();
  }
  const childPath = path && !isListType(getNullableType(field.type)) ? path : undefined;
  const selection = isObjectType(named) ? planSelection(scope, named, collectSubfields(scope.schema, scope.fragments, scope.variableValues, named, fieldNodes), childPath) : undefined;
  const planned = { responseName, fieldName, fieldNodes, parentType, returnType: field.type, resolve: field.resolve ?? defaultFieldResolver, args, selection };
  return { ...planned, info: path && resolveInfo(scope, planned, path) };
}

function resolveInfo(scope: EventScope, field: Omit<PlannedField, 'info'>, path: Path): GraphQLResolveInfo {
  return {
    fieldName: field.fieldName,
    fieldNodes: field.fieldNodes,
    returnType: field.returnType,
    parentType: field.parentType,
    path,
    schema: scope.schema,
    fragments: scope.fragments,
    get rootValue() {
      return scope.event;
    },
    operation: scope.operation,
    variableValues: scope.variableValues,
  };
}

/** The plan of a subscription operation whose variables are already coerced, or undefined when it has none. */
export function planSubscriptionEvents(planScope: PlanScope): EventPlan | undefined {
  // Until the first event, the subscription's own root value (its subscribe resolver sees that one).
  const scope: EventScope = { ...planScope, event: planScope.rootValue };
  const subscriptionType = scope.schema.getSubscriptionType();
  if (!subscriptionType) return undefined;
  try {
    const rootFields = collectFields(scope.schema, scope.fragments, scope.variableValues, subscriptionType, scope.operation.selectionSet);
    const [first] = rootFields;
    // No root field left (all skipped), or an introspection one: the executor answers as it always did.
    if (first === undefined || first[1][0]!.name.value.startsWith('__')) return undefined;
    const [responseName, nodes] = first;
    const root = planField(scope, subscriptionType, responseName, [...nodes], { prev: undefined, key: responseName, typename: subscriptionType.name });
    return { scope, root, subscribe: subscriptionType.getFields()[root.fieldName]!.subscribe ?? defaultFieldResolver };
  } catch (error) {
    if (error instanceof Unplannable) return undefined;
    throw error;
  }
}

/** Runs the plan on one event, with graphql-js's results and errors; undefined when a resolver turns out to be async. */
export function executeEvent(plan: EventPlan, payload: unknown): ExecutionResult | undefined {
  plan.scope.event = payload;
  const errors: GraphQLError[] = [];
  let data: Record<string, unknown> | null;
  try {
    data = { [plan.root.responseName]: executeField(plan.scope, errors, plan.root, payload, plan.root.info!.path) };
  } catch (error) {
    if (error instanceof Unplannable) return undefined;
    errors.push(error as GraphQLError);
    data = null;
  }
  return errors.length === 0 ? { data } : { errors, data };
}

function executeField(scope: EventScope, errors: GraphQLError[], field: PlannedField, source: unknown, path: Path): unknown {
  const info = field.info ?? resolveInfo(scope, field, path);
  try {
    const result = field.resolve(source, field.args, scope.contextValue, info);
    if (result instanceof Promise) throw new Unplannable();
    return completeValue(scope, errors, field, field.returnType, info, path, result);
  } catch (error) {
    if (error instanceof Unplannable) throw error;
    return handleFieldError(locatedError(error, field.fieldNodes, responsePathAsArray(path)), field.returnType, errors);
  }
}

/** A nullable field takes the error and becomes null; a non-null one passes it to its parent. */
function handleFieldError(error: GraphQLError, returnType: GraphQLOutputType, errors: GraphQLError[]): null {
  if (isNonNullType(returnType)) throw error;
  errors.push(error);
  return null;
}

function completeValue(scope: EventScope, errors: GraphQLError[], field: PlannedField, returnType: GraphQLOutputType, info: GraphQLResolveInfo, path: Path, result: unknown): unknown {
  if (result instanceof Error) throw result;
  if (isNonNullType(returnType)) {
    const completed = completeValue(scope, errors, field, returnType.ofType, info, path, result);
    if (completed === null) throw new Error(`Cannot return null for non-nullable field ${info.parentType.name}.${info.fieldName}.`);
    return completed;
  }
  if (result == null) return null;
  if (isListType(returnType)) {
    if (typeof result !== 'object' || !(Symbol.iterator in result)) throw new GraphQLError(`Expected Iterable, but did not find one for field "${info.parentType.name}.${info.fieldName}".`);
    return Array.from(result as Iterable<unknown>, (item, index) => {
      const itemPath: Path = { prev: path, key: index, typename: undefined };
      try {
        if (item instanceof Promise) throw new Unplannable();
        return completeValue(scope, errors, field, returnType.ofType, info, itemPath, item);
      } catch (error) {
        if (error instanceof Unplannable) throw error;
        return handleFieldError(locatedError(error, field.fieldNodes, responsePathAsArray(itemPath)), returnType.ofType, errors);
      }
    });
  }
  if (isLeafType(returnType)) {
    const serialized = returnType.serialize(result);
    if (serialized == null) throw new Error(`Expected \`${returnType.name}.serialize\` to return a non-nullable value for ${info.parentType.name}.${info.fieldName}.`);
    return serialized;
  }
  const object: Record<string, unknown> = {};
  for (const sub of field.selection!) object[sub.responseName] = executeField(scope, errors, sub, result, sub.info?.path ?? { prev: path, key: sub.responseName, typename: sub.parentType.name });
  return object;
}
