-- The demo application's brands and reviews, joined into its product documents (`brand` and
-- `reviews` in syncline.collections.json). Run after demo-schema.sql. The links are indexed:
-- assembling a product reads its reviews by product_id, and renaming a brand finds its products by
-- brand_id.
create table if not exists brands (
  id text primary key,
  name text not null
);
alter table products add column if not exists brand_id text references brands on delete set null;
create index if not exists products_brand_id on products (brand_id);
create table if not exists reviews (
  id text primary key,
  product_id text not null references products on delete cascade,
  rating int not null check (rating between 1 and 5),
  body text
);
create index if not exists reviews_product_id on reviews (product_id);
