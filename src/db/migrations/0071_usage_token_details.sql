-- The parts of a call's tokens that are priced or shown apart: prompt tokens read from and written to
-- the provider's cache (counted in input_tokens too) and completion tokens spent reasoning (counted in
-- output_tokens too). Rows written before this migration have 0.
alter table usage add column cached_input_tokens int not null default 0;
alter table usage add column cache_write_tokens int not null default 0;
alter table usage add column reasoning_tokens int not null default 0;
