// `./dev fuzz [--requests 10000] [--seed N]`: fuzzes the running write API (`./dev up`), then checks
// that `syncline reconcile` finds no drift for any document it wrote. Prints the status histogram and
// writes it to bench/results/fuzz.md; exits 1 on any 5xx, any error outside the documented shape, or drift.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@syncline/testkit';
import { arg } from '../bench/common.ts';
import { fuzzWriteApi } from '../test/support/fuzz.ts';

const requests = arg('requests', 10_000);
const seed = arg('seed', Date.now() % 1_000_000);
const url = process.env.SYNCLINE_FUZZ_URL ?? 'http://127.0.0.1:8080';
const prefix = `fz${seed}-`;

const started = Date.now();
const result = await fuzzWriteApi({
  url,
  apiKey: process.env.SYNCLINE_DEMO_API_KEY ?? 'dev-key',
  requests,
  seed,
  prefix,
});
const seconds = ((Date.now() - started) / 1000).toFixed(1);

// Drift of what the fuzzer wrote, once the pipeline has caught up (reconcile reports every drifting id).
const reconcile = () => {
  const report = join(REPO_ROOT, '.stack', `fuzz-reconcile-${seed}.json`);
  try {
    execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'services/cli/src/main.ts'), 'reconcile', 'products', '--json', '--report', report],
      { stdio: 'ignore' },
    );
  } catch {
    // exit 4: drift found; the report says which ids
  }
  const r = JSON.parse(readFileSync(report, 'utf8')) as Record<string, string[]>;
  return ['missing', 'stale', 'orphaned', 'diverged', 'ahead'].flatMap((k) =>
    r[k]!.filter((id) => result.written.has(id) || id.startsWith(prefix)),
  );
};
let drift = reconcile();
for (let i = 0; drift.length && i < 30; i++) {
  await new Promise((resolve) => setTimeout(resolve, 2000));
  drift = reconcile();
}

const rows = Object.entries(result.statuses)
  .sort(([a], [b]) => Number(a) - Number(b))
  .map(([status, n]) => `| ${status} | ${n} |`);
const codes = Object.entries(result.codes)
  .sort(([, a], [, b]) => b - a)
  .map(([code, n]) => `| \`${code}\` | ${n} |`);
const markdown = `# fuzz — ${new Date().toISOString()}

Command: \`./dev fuzz --requests ${requests} --seed ${seed}\` against ${url} (\`./dev up\`), ${seconds} s.

| status | answers |
| --- | --- |
${rows.join('\n')}

| error code | answers |
| --- | --- |
${codes.join('\n')}

- requests: ${result.requests}; 5xx or errors outside the documented shape: ${result.violations.length}
- documents written (2xx): ${result.written.size}; \`syncline reconcile\` drift among them: ${drift.length}
${result.violations
  .slice(0, 20)
  .map((v) => `  - ${v}`)
  .join('\n')}
`;
writeFileSync(join(REPO_ROOT, 'bench', 'results', 'fuzz.md'), markdown);
console.log(markdown);
if (result.violations.length || drift.length) process.exit(1);
