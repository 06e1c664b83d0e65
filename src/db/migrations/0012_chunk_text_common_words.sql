-- Full-text candidates without looking up words that are certainly common in the knowledge base.
--
-- `chunk_text_candidates` (migration 0010) fetches every query word's matches from the GIN index to
-- learn which words are rare. A one-word GIN scan decodes the word's whole posting list into a
-- bitmap before the cap applies, so a word in half of 100k chunks costs its 50,000 entries (about
-- 5 ms in PGlite) only to be found too common to use. ANALYZE's statistics say which words those
-- are: the most common lexemes of `chunks.tsv` with their share of all chunks, and the knowledge
-- base's share of all chunks (`knowledge_base_id`). A word is skipped when even if every chunk
-- outside the knowledge base had it, more than `p_cap` of the knowledge base's chunks would still
-- have it (share(word) − (1 − share(kb)) > p_cap / rows). So only knowledge bases that are most of
-- the table skip anything, and without statistics (never analysed) every word is looked up as
-- before. Skipped words still count in the ranking and in the every-word query; when the looked-up
-- words leave room under the cap, the chunks with every word fill it (rather than an arbitrary part
-- of a common word's matches), then, while there are fewer than `p_limit`, matches of the least
-- common skipped word; when every word is skipped that word is looked up as before.
create or replace function chunk_text_candidates(
  p_query text, p_kb uuid, p_tenant uuid, p_docs uuid[], p_limit int, p_cap int
) returns table (id uuid, ord bigint)
language plpgsql stable as $$
declare
  q tsquery := websearch_to_tsquery('english', p_query);
  any_word tsquery;
  terms text[];
  lookup text[];
  skipped int := 0;
  least_skipped text;
  word record;
  -- Row addresses, not ids: ranking then reads the rows directly instead of through the primary key.
  found tid[] := '{}';
  rows real;
  kb_share real;
begin
  if q is null or numnode(q) = 0 then
    return;
  end if;
  any_word := replace(q::text, '&', '|')::tsquery;
  -- Lexemes are quoted in the text form ('it''s' doubles a quote); a plain conjunction has nothing
  -- else but `&` between them.
  if regexp_replace(q::text, '''(?:[^'']|'''')*''', '', 'g') ~ '^[\s&]*$' then
    select array_agg(distinct m[1]) into terms
      from regexp_matches(q::text, '(''(?:[^'']|'''')*'')', 'g') as m;
  end if;
  if terms is null or cardinality(terms) > 8 then
    terms := array[any_word::text];
  end if;
  lookup := terms;
  if p_docs is null and cardinality(terms) > 1 then
    select c.reltuples into rows from pg_class c where c.oid = 'chunks'::regclass;
    select m.f into kb_share
      from pg_stats s, unnest(s.most_common_vals::text::uuid[], s.most_common_freqs) as m(v, f)
     where s.schemaname = current_schema() and s.tablename = 'chunks'
       and s.attname = 'knowledge_base_id' and m.v = p_kb;
    if rows > 0 and kb_share > 0 then
      -- The words not certainly common, then the least common of the others when that is none.
      with e as (
        select quote_literal(m.e) as t, m.f
          from pg_stats s,
               unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) as m(e, f)
         where s.schemaname = current_schema() and s.tablename = 'chunks' and s.attname = 'tsv'
      ), w as (
        select t.t, coalesce(e.f, 0) as f, coalesce(e.f, 0) - (1 - kb_share) > p_cap / rows as common
          from unnest(terms) as t(t) left join e on e.t = t.t
      )
      select coalesce(array_agg(w.t) filter (where not w.common),
                      array[(select w2.t from w w2 order by w2.f, w2.t limit 1)]),
             count(*) filter (where w.common),
             (select w2.t from w w2 where w2.common order by w2.f, w2.t limit 1)
        into lookup, skipped, least_skipped
        from w;
    end if;
  end if;
  for word in
    with w as materialized (
      select array(
               select c.ctid from chunks c
                where c.tsv @@ t::tsquery and c.knowledge_base_id = p_kb and c.tenant_id = p_tenant
                  and (p_docs is null or c.document_id = any(p_docs))
                limit p_cap + 1) as ids
        from unnest(lookup) as t
    )
    select w.ids from w order by cardinality(w.ids)
  loop
    if cardinality(found) = 0 and cardinality(word.ids) > p_cap and cardinality(terms) > 1 then
      -- Every word is common: the chunks that have all of them first.
      found := array(
        select c.ctid from chunks c
         where c.tsv @@ q and c.knowledge_base_id = p_kb and c.tenant_id = p_tenant
           and (p_docs is null or c.document_id = any(p_docs))
         limit p_cap);
    end if;
    exit when cardinality(found) >= p_cap;
    found := found || array(
      select w.t from unnest(word.ids) as w(t) where w.t <> all (found) limit p_cap - cardinality(found));
  end loop;
  if skipped > 0 and cardinality(found) < p_cap then
    found := found || array(
      select c.ctid from chunks c
       where c.tsv @@ q and c.knowledge_base_id = p_kb and c.tenant_id = p_tenant and c.ctid <> all (found)
       limit p_cap - cardinality(found));
    if cardinality(found) < p_limit then
      found := found || array(
        select c.ctid from chunks c
         where c.tsv @@ least_skipped::tsquery and c.knowledge_base_id = p_kb and c.tenant_id = p_tenant
           and c.ctid <> all (found)
         limit p_limit - cardinality(found));
    end if;
  end if;
  return query
    select r.id, row_number() over (order by r.rank desc, r.id)
      from (select c.id, ts_rank(c.tsv, any_word) as rank from chunks c where c.ctid = any(found)) r
     order by r.rank desc, r.id
     limit p_limit;
end
$$;
