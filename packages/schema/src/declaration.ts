// Collections are declared once (a JSON file); SQL, Avro schemas and index mappings all derive
// from the declaration. Table and column names come only from here, never from a request, and
// are restricted to plain identifiers so they can be quoted into SQL safely.
import { readFileSync } from 'node:fs';
import { SynclineError } from '@syncline/core';
import { z } from 'zod';
import { ARRAY_ITEM_TYPES, SCALAR_TYPES } from './field-types.ts';

const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a lower-case identifier: a letter, then letters, digits or _');

const fieldSchema = z
  .object({
    type: z.enum([...SCALAR_TYPES, 'array']),
    items: z.enum(ARRAY_ITEM_TYPES).optional(),
    required: z.boolean().default(false),
    maxLength: z.number().int().positive().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    maxItems: z.number().int().positive().optional(),
    /** Strings only: how Elasticsearch indexes them. */
    search: z.enum(['text', 'keyword', 'text_keyword']).optional(),
    /** The table's column that holds the field (default: the field's name). */
    column: identifier.optional(),
  })
  .strict()
  .superRefine((field, ctx) => {
    if (field.type === 'array' && !field.items) ctx.addIssue({ code: 'custom', message: 'an array field needs items' });
    if (field.type !== 'array' && field.items) ctx.addIssue({ code: 'custom', message: 'items is only for arrays' });
    const stringish = field.type === 'string' || field.items === 'string';
    if (field.search && !stringish) ctx.addIssue({ code: 'custom', message: 'search is only for string fields' });
    if (field.maxLength !== undefined && !stringish) {
      ctx.addIssue({ code: 'custom', message: 'maxLength is only for string fields' });
    }
  });

/** Each key type's default id pattern: the one text form PostgreSQL prints for a key of that type. */
export const KEY_TYPES = {
  text: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$',
  integer: '^(0|-?[1-9][0-9]{0,17})$',
  uuid: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
} as const;
export type KeyType = keyof typeof KEY_TYPES;

const collectionSchema = z
  .object({
    name: identifier,
    table: identifier,
    primaryKey: identifier.default('id'),
    /** The primary key column's type: text, integer (smallint, integer or bigint) or uuid. */
    primaryKeyType: z.enum(Object.keys(KEY_TYPES) as [KeyType, ...KeyType[]]).default('text'),
    /**
     * true: the table is the application's; every committed change to it, from any client, is captured
     * by triggers (`syncline capture enable`). false: Syncline creates the table and only its API writes it.
     */
    capture: z.boolean().default(false),
    idPattern: z
      .string()
      .refine((p) => {
        try {
          new RegExp(p);
          return true;
        } catch {
          return false;
        }
      }, 'must be a valid regular expression')
      .optional(),
    topic: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be a valid Kafka topic name'),
    partitions: z.number().int().min(1).max(1000).default(6),
    index: z
      .object({
        alias: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,200}$/, 'must be a valid Elasticsearch index name'),
        shards: z.number().int().min(1).default(1),
        replicas: z.number().int().min(0).default(0),
        refreshInterval: z.string().default('1s'),
      })
      .strict(),
    fields: z.record(identifier, fieldSchema).refine((f) => Object.keys(f).length > 0, 'declare at least one field'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const columns = new Set<string>();
    for (const [name, f] of Object.entries(c.fields)) {
      const column = f.column ?? name;
      for (const reserved of [c.primaryKey, 'syncline_version', 'syncline_key']) {
        if (column === reserved || name === reserved) {
          ctx.addIssue({ code: 'custom', path: ['fields', name], message: `${reserved} is reserved` });
        }
      }
      if (columns.has(column)) ctx.addIssue({ code: 'custom', path: ['fields', name], message: 'duplicate column' });
      columns.add(column);
    }
  })
  .transform((c) => ({ ...c, idPattern: c.idPattern ?? KEY_TYPES[c.primaryKeyType] }));

const declarationSchema = z
  .object({ collections: z.array(collectionSchema).min(1) })
  .strict()
  .superRefine((d, ctx) => {
    const seen = new Map<string, string>();
    d.collections.forEach((c, i) => {
      for (const [kind, value] of [
        ['name', c.name],
        ['table', c.table],
        ['topic', c.topic],
        ['alias', c.index.alias],
      ] as const) {
        const key = `${kind}:${value}`;
        if (seen.has(key))
          ctx.addIssue({ code: 'custom', path: ['collections', i, kind], message: `duplicate ${kind}` });
        seen.set(key, c.name);
      }
    });
  });

export type FieldDeclaration = z.infer<typeof fieldSchema>;
export type Collection = z.output<typeof collectionSchema>;
export type Declaration = z.infer<typeof declarationSchema>;

export function parseDeclaration(input: unknown, source = 'declaration'): Declaration {
  const parsed = declarationSchema.safeParse(input);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const lines = details.map((d) => `  ${d.path || '(root)'}: ${d.message}`).join('\n');
    throw new SynclineError('SYNC_DECLARATION_INVALID', `${source} is invalid:\n${lines}`, { details });
  }
  return parsed.data;
}

export function loadDeclaration(path: string): Declaration {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new SynclineError('SYNC_DECLARATION_INVALID', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseDeclaration(raw, path);
}

/** A declaration with topics and aliases renamed under a prefix: how tests isolate themselves. */
export function withNamespace(declaration: Declaration, ns: { topicPrefix: string; indexPrefix: string }): Declaration {
  return {
    collections: declaration.collections.map((c) => ({
      ...c,
      topic: `${ns.topicPrefix}${c.topic}`,
      index: { ...c.index, alias: `${ns.indexPrefix}${c.index.alias}` },
    })),
  };
}

type FieldColumn = { name: string; column: string; field: FieldDeclaration };
const columnsOf = new WeakMap<Collection, FieldColumn[]>();

/** The table column of each declared field, in declaration order (computed once per collection: rows are mapped with it). */
export function fieldColumns(c: Collection): FieldColumn[] {
  let columns = columnsOf.get(c);
  if (!columns) {
    columns = Object.entries(c.fields).map(([name, field]) => ({ name, column: field.column ?? name, field }));
    columnsOf.set(c, columns);
  }
  return columns;
}

export function findCollection(declaration: Declaration, name: string): Collection | undefined {
  return declaration.collections.find((c) => c.name === name);
}
