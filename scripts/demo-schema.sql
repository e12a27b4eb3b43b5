-- The demo application's own table, as an application would create it (Syncline captures it:
-- `syncline capture enable products`). The application writes it with plain SQL; `internal_note`
-- is not declared, so it never reaches the index.
create table if not exists products (
  id text primary key,
  name text not null,
  description text,
  price numeric(12, 2) not null check (price >= 0),
  tags text[],
  in_stock boolean,
  updated_at timestamptz default now(),
  internal_note text
);
