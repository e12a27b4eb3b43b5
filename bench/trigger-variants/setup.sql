-- Variants of the capture trigger on the same table, for bench/capture-trigger-variants.sh: where a captured
-- write's cost goes. "captured" is the body `syncline capture enable` installs (packages/outbox/src/db/capture.ts)
-- for the demo table; the others take one part away.
drop schema if exists syncline_bench_trigger_variants cascade;
create schema syncline_bench_trigger_variants;
set search_path = syncline_bench_trigger_variants;
create sequence versions as bigint;
create table outbox (
  seq bigint primary key default nextval('versions'),
  collection text not null, aggregate_id text not null,
  op text not null check (op in ('UPSERT', 'DELETE')), version bigint not null,
  document bytea, schema text, payload jsonb,
  created_at timestamptz not null default clock_timestamp());
create table outbox_noindex (like outbox including defaults);
create table plain (id text primary key, name text not null, description text, price numeric, tags text[],
  in_stock boolean, updated_at timestamptz, internal_note text);

-- A trigger body on each table: name, body, function options.
create function variant(tbl text, body text, options text) returns void language plpgsql as $$
begin
  execute format('create table %I (like plain including all)', tbl);
  execute format('create function %I() returns trigger language plpgsql %s as $f$ declare v bigint; begin %s return null; end $f$',
    'f_' || tbl, options, body);
  execute format('create trigger t after insert or update or delete on %I for each row execute function %I()', tbl, 'f_' || tbl);
end $$;
select variant('empty', '', 'security definer set search_path = pg_catalog, pg_temp');
select variant('nextval', $b$ v := nextval('syncline_bench_trigger_variants.versions'); $b$,
  'security definer set search_path = pg_catalog, pg_temp');
select variant('no_image', $b$ v := nextval('syncline_bench_trigger_variants.versions');
  insert into syncline_bench_trigger_variants.outbox (seq, collection, aggregate_id, op, version, payload)
  values (v, 'products', NEW.id::text, 'UPSERT', v, null); $b$,
  'security definer set search_path = pg_catalog, pg_temp');
select variant('no_index', $b$ v := nextval('syncline_bench_trigger_variants.versions');
  insert into syncline_bench_trigger_variants.outbox_noindex (seq, collection, aggregate_id, op, version, payload)
  values (v, 'products', NEW.id::text, 'UPSERT', v, to_jsonb(NEW) - '{"internal_note"}'::text[]); $b$,
  'security definer set search_path = pg_catalog, pg_temp');
select variant('captured', $b$ v := nextval('syncline_bench_trigger_variants.versions');
  insert into syncline_bench_trigger_variants.outbox (seq, collection, aggregate_id, op, version, payload)
  values (v, 'products', NEW.id::text, 'UPSERT', v, to_jsonb(NEW) - '{"internal_note"}'::text[]); $b$,
  'security definer set search_path = pg_catalog, pg_temp');
select variant('captured_no_set', $b$ v := pg_catalog.nextval('syncline_bench_trigger_variants.versions'::pg_catalog.regclass);
  insert into syncline_bench_trigger_variants.outbox (seq, collection, aggregate_id, op, version, payload)
  values (v, 'products', NEW.id::pg_catalog.text, 'UPSERT', v,
          pg_catalog.to_jsonb(NEW) OPERATOR(pg_catalog.-) '{"internal_note"}'::pg_catalog.text[]); $b$,
  'security definer');
select variant('captured_invoker', $b$ v := nextval('syncline_bench_trigger_variants.versions');
  insert into syncline_bench_trigger_variants.outbox (seq, collection, aggregate_id, op, version, payload)
  values (v, 'products', NEW.id::text, 'UPSERT', v, to_jsonb(NEW) - '{"internal_note"}'::text[]); $b$, '');
drop function variant(text, text, text);

insert into plain (id, name, price, updated_at) select 'b-' || i, 'bench', i, now() from generate_series(1, 100000) i;
do $$ declare t text; begin
  foreach t in array array['empty', 'nextval', 'no_image', 'no_index', 'captured', 'captured_no_set', 'captured_invoker'] loop
    execute format('insert into %I select * from plain', t);
  end loop;
end $$;
truncate outbox, outbox_noindex;
vacuum analyze;
