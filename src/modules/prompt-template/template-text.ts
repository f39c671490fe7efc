import { badInput } from '../../shared/errors.ts';

// {{name}} marks a variable; spaces inside the braces are allowed, names are identifiers.
const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const ANY_BRACES = /\{\{[^}]*\}\}/g;

/** The variables a text uses, in order of first use; a malformed {{...}} is an error naming the field. */
export function variablesOf(text: string, field: string): string[] {
  const malformed = [...text.matchAll(ANY_BRACES)].map((m) => m[0]).filter((marker) => !new RegExp(`^${VARIABLE.source}$`).test(marker));
  if (malformed.length > 0) {
    throw badInput(`${field} has malformed variables ${malformed.join(', ')}: write {{name}} with letters, digits and _`, { field });
  }
  return [...new Set([...text.matchAll(VARIABLE)].map((m) => m[1]!))];
}

/**
 * Checks `values` against the variables a template uses: every one given, no others, each a string,
 * number or boolean. The errors name each variable at fault.
 */
export function checkVariables(expected: readonly string[], values: Record<string, unknown>): Record<string, string> {
  const given = Object.keys(values);
  const missing = expected.filter((name) => !given.includes(name));
  const extra = given.filter((name) => !expected.includes(name));
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing variables: ${missing.join(', ')}`);
  if (extra.length > 0) problems.push(`unknown variables: ${extra.join(', ')} (the template uses ${expected.length ? expected.join(', ') : 'none'})`);
  const notScalar = given.filter((name) => !['string', 'number', 'boolean'].includes(typeof values[name]));
  if (notScalar.length > 0) problems.push(`variables must be strings, numbers or booleans: ${notScalar.join(', ')}`);
  if (problems.length > 0) throw badInput(problems.join('; '), { field: 'variables', missing, extra });
  return Object.fromEntries(given.map((name) => [name, String(values[name])]));
}

/** The text with each {{name}} replaced by its value; values are inserted as they are, never re-read as markers. */
export function render(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(VARIABLE, (_marker, name: string) => values[name]!);
}
