// The .avsc files under packages/schema/avro are generated from the declaration so that any Avro
// implementation can read Syncline topics. avro/history keeps every schema ever published, which
// readers must still decode (see evolution.test.ts).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AvroSchema, fingerprint, KEY_SCHEMA, valueSchema } from './avro.ts';
import type { Collection } from './declaration.ts';

export const AVRO_DIR = new URL('../avro/', import.meta.url).pathname;
const GENERATED = 'Generated from syncline.collections.json by `npm run generate -w @syncline/schema`; do not edit.';

export function avscFiles(collection: Collection): Record<string, string> {
  const value = { ...valueSchema(collection), doc: `${valueSchema(collection).doc} ${GENERATED}` };
  return {
    [`${collection.name}.key.avsc`]: `${JSON.stringify({ type: KEY_SCHEMA, doc: GENERATED }, null, 2)}\n`,
    [`${collection.name}.value.avsc`]: `${JSON.stringify(value, null, 2)}\n`,
  };
}

/** Writes the current files, and records the value schema in history under its fingerprint. */
export function writeAvscFiles(collections: Collection[], dir = AVRO_DIR): string[] {
  const written: string[] = [];
  mkdirSync(dir, { recursive: true });
  for (const c of collections) {
    for (const [name, text] of Object.entries(avscFiles(c))) {
      writeFileSync(join(dir, name), text);
      written.push(name);
    }
    const historyDir = join(dir, 'history', c.name);
    mkdirSync(historyDir, { recursive: true });
    const schema = valueSchema(c);
    const file = join(historyDir, `${fingerprint(schema).slice(0, 16)}.avsc`);
    if (!existsSync(file)) writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
  }
  return written;
}

/** Every value schema this collection has published, oldest file order not guaranteed. */
export function historicSchemas(collectionName: string, dir = AVRO_DIR): AvroSchema[] {
  const historyDir = join(dir, 'history', collectionName);
  if (!existsSync(historyDir)) return [];
  return readdirSync(historyDir)
    .filter((f) => f.endsWith('.avsc'))
    .map((f) => JSON.parse(readFileSync(join(historyDir, f), 'utf8')) as AvroSchema);
}
