// The import rule of docs/architecture.md: services are thin deployables over packages. A service
// never imports another service, a package never imports a service, nothing reaches into another
// workspace's files, and every workspace declares the @syncline packages it imports. Kafka clients are
// imported by the Kafka port's two adapters only, search engine clients by the search port's two.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { REPO_ROOT } from '@syncline/testkit';
import { describe, expect, it } from 'vitest';

interface Workspace {
  dir: string;
  name: string;
  kind: 'package' | 'service';
  dependencies: Set<string>;
}

const workspaces: Workspace[] = (['packages', 'services'] as const).flatMap((folder) =>
  readdirSync(join(REPO_ROOT, folder)).map((entry) => {
    const dir = join(REPO_ROOT, folder, entry);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    return {
      dir,
      name: manifest.name as string,
      kind: folder === 'packages' ? ('package' as const) : ('service' as const),
      dependencies: new Set(Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })),
    };
  }),
);
const byName = new Map(workspaces.map((w) => [w.name, w]));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'node_modules' ? [] : sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module a file imports: static imports, re-exports and dynamic imports. */
const specifiers = (text: string) =>
  [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!).filter((s) => !s.startsWith('node:'));

function violations(w: Workspace): string[] {
  const found: string[] = [];
  for (const file of sources(join(w.dir, 'src'))) {
    const where = relative(REPO_ROOT, file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = resolve(file, '..', spec);
        if (!target.startsWith(`${w.dir}/`)) found.push(`${where} reaches into ${relative(REPO_ROOT, target)}`);
        continue;
      }
      const name = spec.startsWith('@syncline/') ? spec.split('/').slice(0, 2).join('/') : undefined;
      const target = name ? byName.get(name) : undefined;
      if (!name || name === w.name) continue;
      if (!target) found.push(`${where} imports ${name}, which is no workspace`);
      else if (target.kind === 'service') found.push(`${where} (a ${w.kind}) imports the service ${name}`);
      else if (!w.dependencies.has(name)) found.push(`${where} imports ${name} without declaring it in package.json`);
    }
  }
  return found;
}

describe('architecture', () => {
  it('finds the workspaces', () => {
    expect(workspaces.filter((w) => w.kind === 'service').map((w) => w.name)).toContain('@syncline/write-api');
    expect(workspaces.filter((w) => w.kind === 'package').map((w) => w.name)).toContain('@syncline/core');
  });

  it('services import only packages, and packages never import services', () => {
    expect(workspaces.flatMap(violations)).toEqual([]);
  });

  it('talks to Kafka only through the port: the two adapters are the only files that import a Kafka client', () => {
    const clients = new Set(['kafkajs', '@platformatic/kafka']);
    const adapters = ['packages/kafka/src/kafkajs.ts', 'packages/kafka/src/platformatic.ts'];
    const importers = workspaces
      .flatMap((w) => sources(join(w.dir, 'src')))
      .filter((file) => !file.endsWith('.test.ts') && !file.includes('/testkit/'))
      .filter((file) => specifiers(readFileSync(file, 'utf8')).some((spec) => clients.has(spec)))
      .map((file) => relative(REPO_ROOT, file));
    expect(importers.sort()).toEqual(adapters);
  });

  it('talks to the search engine only through the port: its two adapters are the only files that import an engine client', () => {
    const clients = new Set(['@elastic/elasticsearch', '@opensearch-project/opensearch']);
    const adapters = ['packages/search/src/elasticsearch.ts', 'packages/search/src/opensearch.ts'];
    const importers = workspaces
      .flatMap((w) => sources(join(w.dir, 'src')))
      .filter((file) => !file.endsWith('.test.ts') && !file.includes('/testkit/'))
      .filter((file) => specifiers(readFileSync(file, 'utf8')).some((spec) => clients.has(spec)))
      .map((file) => relative(REPO_ROOT, file));
    expect(importers.sort()).toEqual(adapters);
  });

  it('reports each kind of violation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-architecture-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(
      join(dir, 'src', 'a.ts'),
      "import { buildApp } from '@syncline/write-api';\nimport { migrate } from '@syncline/outbox';\nexport * from '../../elsewhere.ts';\n",
    );
    try {
      const found = violations({ dir, name: '@syncline/probe', kind: 'package', dependencies: new Set() });
      expect(found).toEqual([
        expect.stringContaining('imports the service @syncline/write-api'),
        expect.stringContaining('imports @syncline/outbox without declaring it'),
        expect.stringContaining('reaches into'),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
