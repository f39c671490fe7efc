import { describe, expect, it } from 'vitest';
import { topLevelString, withModel, withTopLevelString } from './json-text.ts';

describe('rewriting a top-level string in JSON text', () => {
  it('rewrites only the top-level model, whatever its spacing', () => {
    expect(withModel('{"id":"a","model":"up","choices":[]}', '"asked"')).toBe('{"id":"a","model":"asked","choices":[]}');
    expect(withModel('{\n  "id": "a",\n  "model" : "up"\n}', '"asked"')).toBe('{\n  "id": "a",\n  "model" : "asked"\n}');
  });

  it('passes over a model key deeper in the object or inside a string', () => {
    const text = '{"choices":[{"message":{"model":"inner","content":"say \\"model\\":\\"x\\""}}],"model":"up"}';
    expect(JSON.parse(withModel(text, '"asked"'))).toEqual({ ...JSON.parse(text), model: 'asked' });
  });

  it('finds a value holding escaped quotes and backslashes whole', () => {
    const text = '{"model":"a\\\\\\"b\\\\","x":1}';
    const span = topLevelString(text, 'model')!;
    expect(JSON.parse(text.slice(span[0], span[1]))).toBe('a\\"b\\');
    expect(withModel(text, '"m"')).toBe('{"model":"m","x":1}');
  });

  it('leaves text without the key alone, and sets a non-string value through a parse', () => {
    expect(withModel('{"id":"a"}', '"m"')).toBe('{"id":"a"}');
    expect(withTopLevelString('{"id":null}', 'id', '"b"')).toBe('{"id":"b"}');
  });
});
