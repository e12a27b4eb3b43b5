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
const keyTypeSchema = z.enum(Object.keys(KEY_TYPES) as [KeyType, ...KeyType[]]);

/**
 * A table joined into a collection's documents. kind one (many-to-one): the parent's `column` holds
 * this table's key, and the document carries an object or null (`product.brand`). kind many
 * (one-to-many): this table's `column` holds the parent's key, and the document carries an array
 * ordered by this table's key (`product.reviews`). Each joined object is `{id, ...fields, ...relations}`,
 * id being the joined row's key as text.
 */
export interface Relation {
  kind: 'one' | 'many';
  table: string;
  primaryKey: string;
  primaryKeyType: KeyType;
  column: string;
  fields: Record<string, FieldDeclaration>;
  relations: Record<string, Relation>;
  /** How the search index maps it: object (one's default) or nested (many's default). */
  mapping: 'object' | 'nested';
}

const relationSchema = z
  .object({
    kind: z.enum(['one', 'many']),
    table: identifier,
    primaryKey: identifier.default('id'),
    primaryKeyType: keyTypeSchema.default('text'),
    column: identifier,
    fields: z.record(identifier, fieldSchema).default({}),
    get relations(): z.ZodDefault<z.ZodRecord<typeof identifier, z.ZodType<Relation, unknown>>> {
      return z.record(identifier, relationSchema).default({});
    },
    mapping: z.enum(['object', 'nested']).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    for (const name of [...Object.keys(r.fields), ...Object.keys(r.relations)]) {
      if (name === 'id')
        ctx.addIssue({ code: 'custom', path: [name], message: "id is the joined row's key: reserved" });
    }
    const columns = new Set([r.primaryKey, ...Object.entries(r.fields).map(([n, f]) => f.column ?? n)]);
    for (const name of Object.keys(r.relations)) {
      if (Object.hasOwn(r.fields, name) || columns.has(name)) {
        ctx.addIssue({ code: 'custom', path: ['relations', name], message: 'a field or column has this name' });
      }
    }
  })
  .transform((r): Relation => ({ ...r, mapping: r.mapping ?? (r.kind === 'one' ? 'object' : 'nested') }));

const collectionSchema = z
  .object({
    name: identifier,
    table: identifier,
    primaryKey: identifier.default('id'),
    /** The primary key column's type: text, integer (smallint, integer or bigint) or uuid. */
    primaryKeyType: keyTypeSchema.default('text'),
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
    /** Tables joined into each document (see Relation); only on a captured collection. */
    relations: z.record(identifier, relationSchema).default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (Object.keys(c.relations).length && !c.capture) {
      ctx.addIssue({
        code: 'custom',
        path: ['relations'],
        message: 'relations need "capture": true (the tables are the application\'s)',
      });
    }
    const rootColumns = new Set([c.primaryKey, ...Object.entries(c.fields).map(([n, f]) => f.column ?? n)]);
    for (const name of Object.keys(c.relations)) {
      if (Object.hasOwn(c.fields, name) || rootColumns.has(name)) {
        ctx.addIssue({ code: 'custom', path: ['relations', name], message: 'a field or column has this name' });
      }
    }
    // Each relation is an Avro record named after its path (avro.ts): two paths must not make one name.
    const records = new Map<string, string>();
    const walk = (relations: Record<string, Relation>, at: string) => {
      for (const [name, r] of Object.entries(relations)) {
        const path = at ? `${at}.${name}` : name;
        const record = `Joined_${path.replace(/\./g, '_')}`;
        const other = records.get(record);
        if (other) {
          ctx.addIssue({
            code: 'custom',
            path: ['relations'],
            message: `relations ${other} and ${path} would share the Avro record name ${record}`,
          });
        }
        records.set(record, path);
        walk(r.relations, path);
      }
    };
    walk(c.relations, '');
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

/** True when the collection's documents join other tables (relations): they are assembled, not written. */
export const isJoined = (c: Collection): boolean => Object.keys(c.relations).length > 0;

/**
 * One table in a joined collection's tree: the root (path '') or a relation (path 'items.product').
 * `parent` is the node the relation hangs from.
 */
export interface JoinNode {
  path: string;
  table: string;
  primaryKey: string;
  primaryKeyType: KeyType;
  /** The relation (undefined for the root). */
  relation?: Relation;
  parent?: JoinNode;
  /** The node's declared fields (the root's or the relation's). */
  fields: Record<string, FieldDeclaration>;
  relations: Record<string, Relation>;
}

const nodesOf = new WeakMap<Collection, JoinNode[]>();

/** Every table of a collection's documents, root first, each relation after its parent. */
export function joinNodes(c: Collection): JoinNode[] {
  let nodes = nodesOf.get(c);
  if (nodes) return nodes;
  const root: JoinNode = {
    path: '',
    table: c.table,
    primaryKey: c.primaryKey,
    primaryKeyType: c.primaryKeyType,
    fields: c.fields,
    relations: c.relations,
  };
  nodes = [root];
  const walk = (parent: JoinNode) => {
    for (const [name, r] of Object.entries(parent.relations)) {
      const node: JoinNode = {
        path: parent.path ? `${parent.path}.${name}` : name,
        table: r.table,
        primaryKey: r.primaryKey,
        primaryKeyType: r.primaryKeyType,
        relation: r,
        parent,
        fields: r.fields,
        relations: r.relations,
      };
      nodes!.push(node);
      walk(node);
    }
  };
  walk(root);
  nodesOf.set(c, nodes);
  return nodes;
}
