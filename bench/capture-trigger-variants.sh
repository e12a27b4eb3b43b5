#!/usr/bin/env bash
# ./dev bench capture-trigger-variants [SECONDS] [ROUNDS]: where the cost of a captured write goes.
# pgbench (32 clients, prepared, single-row upserts of 100 000 rows, as ./dev bench capture) on a plain table and
# on identical tables with variants of the capture trigger (bench/trigger-variants/setup.sql), alternating, in the
# same run; each variant's tx/s ÷ the plain table's. Uses the stack's PostgreSQL (127.0.0.1:5432) in a schema of
# its own, dropped afterwards. Writes bench/results/capture-trigger-variants.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_ROUND=${1:-6}
ROUNDS=${2:-3}
PG=(-h 127.0.0.1 -p 5432 -U postgres)
SCHEMA=syncline_bench_trigger_variants
VARIANTS=(plain empty nextval no_image no_index captured captured_no_set captured_invoker)
psql "${PG[@]}" -X -q -v ON_ERROR_STOP=1 -f bench/trigger-variants/setup.sql postgres >/dev/null
trap 'psql "${PG[@]}" -X -q -c "drop schema if exists $SCHEMA cascade" postgres >/dev/null 2>&1; rm -f /tmp/syncline-variant-*.sql' EXIT
declare -A runs
for ((r = 1; r <= ROUNDS; r++)); do
  for t in "${VARIANTS[@]}"; do
    printf '\\set id random(1, 100000)\nINSERT INTO %s.%s (id, name, price, updated_at) VALUES (%s, %s, :id, now()) ON CONFLICT (id) DO UPDATE SET price = %s.price + 1, updated_at = now();\n' \
      "$SCHEMA" "$t" "'b-' || :id" "'bench'" "$t" > "/tmp/syncline-variant-$t.sql"
    tps=$(pgbench "${PG[@]}" -n -M prepared -c 32 -j 2 -T "$SECONDS_PER_ROUND" -f "/tmp/syncline-variant-$t.sql" postgres 2>&1 |
      sed -n 's/^tps = \([0-9]*\).*/\1/p')
    echo "round $r: $t $tps tx/s"
    runs[$t]="${runs[$t]:-} $tps"
    psql "${PG[@]}" -X -q -c "truncate $SCHEMA.outbox, $SCHEMA.outbox_noindex; checkpoint" postgres >/dev/null
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
plain=$(echo "${runs[plain]}" | median)
declare -A what=(
  [plain]='no trigger (the baseline)'
  [empty]='an AFTER ROW plpgsql trigger that does nothing (SECURITY DEFINER, fixed search_path)'
  [nextval]='… that draws the version from the sequence'
  [no_image]='… and appends an outbox row without the row image'
  [no_index]='the full body, into an outbox without its primary-key index'
  [captured]='**the full body, as `syncline capture enable` installs it**'
  [captured_no_set]='the full body without the SET search_path clause (every name qualified instead)'
  [captured_invoker]='the full body, SECURITY INVOKER, no SET clause'
)
{
  echo "# capture trigger variants — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "- CPU: $(nproc) × $(sed -n 's/^model name.*: //p' /proc/cpuinfo | head -1 | cut -d' ' -f1-2)"
  echo "- memory: $(awk '/MemTotal/ {printf "%d GiB", $2 / 1048576 + 0.5}' /proc/meminfo)"
  echo "- $(psql "${PG[@]}" -X -tAc 'select version()' postgres | cut -d, -f1), its default settings; only PostgreSQL and pgbench busy"
  echo
  echo "pgbench, 32 clients, $SECONDS_PER_ROUND s per round, $ROUNDS alternating rounds, prepared statements; each transaction"
  echo "upserts one random row of 100 000. Every variant is an identical table with one trigger body."
  echo
  echo "| table | tx/s (median) | ÷ no trigger | rounds |"
  echo "|---|---|---|---|"
  for t in "${VARIANTS[@]}"; do
    m=$(echo "${runs[$t]}" | median)
    echo "| ${what[$t]} | $m | $(awk -v a="$m" -v b="$plain" 'BEGIN {printf "%.2f", a / b}') |${runs[$t]} |"
  done
  echo
  echo "Command: \`./dev bench capture-trigger-variants $SECONDS_PER_ROUND $ROUNDS\`."
} | tee bench/results/capture-trigger-variants.md
