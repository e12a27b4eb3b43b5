// JSON Schema of each collection's documents, derived from the declaration, for the OpenAPI document.
import type { Collection, FieldDeclaration } from '@syncline/schema';

const scalar: Record<string, object> = {
  string: { type: 'string' },
  long: { type: 'integer' },
  double: { type: 'number' },
  boolean: { type: 'boolean' },
  timestamp: { type: 'string', format: 'date-time' },
};

function fieldSchema(f: FieldDeclaration): object {
  const base =
    f.type === 'array'
      ? { type: 'array', items: { ...scalar[f.items!], ...(f.maxLength ? { maxLength: f.maxLength } : {}) } }
      : { ...scalar[f.type] };
  const limits = {
    ...(f.type !== 'array' && f.maxLength !== undefined ? { maxLength: f.maxLength } : {}),
    ...(f.minimum !== undefined ? { minimum: f.minimum } : {}),
    ...(f.maximum !== undefined ? { maximum: f.maximum } : {}),
    ...(f.maxItems !== undefined ? { maxItems: f.maxItems } : {}),
  };
  return f.required ? { ...base, ...limits } : { anyOf: [{ ...base, ...limits }, { type: 'null' }] };
}

export function documentJsonSchema(c: Collection): Record<string, unknown> {
  return {
    type: 'object',
    title: c.name,
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(c.fields).map(([n, f]) => [n, fieldSchema(f)])),
    required: Object.entries(c.fields)
      .filter(([, f]) => f.required)
      .map(([n]) => n),
  };
}
