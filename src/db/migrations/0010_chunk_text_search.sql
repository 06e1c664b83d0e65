-- Full-text candidates for knowledge-base search, with bounded ranking work.
--
-- A query that does not require every word (`a | b | c`) matches much of a large knowledge base as
-- soon as one of its words is common, and ranking reads each match's tsvector (out of line, in
-- TOAST): 8,000 matches cost 300 ms at 56k chunks. So the candidates are gathered word by word,
-- the rarest first: each word's matches are fetched from the GIN index up to `p_cap` (which also
-- tells how rare it is), and words are added from the rarest while the candidates stay within
-- `p_cap`. Those are ranked by ts_rank over the any-word query, which still prefers the chunks that
-- have more of the words, common ones included. Rare words, the ones that tell chunks apart, are
-- covered in full; only a word too common to fit is cut to an arbitrary part of its matches. When
-- every word is that common, the chunks with all of them come first. No query ranks more than
-- `p_cap` rows. Queries with phrases or negation (`"a b"`, `-a`), or more than 8 distinct words,
-- rank `p_cap` matches of the any-word query.
create function chunk_text_candidates(
  p_query text, p_kb uuid, p_tenant uuid, p_docs uuid[], p_limit int, p_cap int
) returns table (id uuid, ord bigint)
language plpgsql stable as $$
declare
  q tsquery := websearch_to_tsquery('english', p_query);
  any_word tsquery;
  terms text[];
  word record;
  -- Row addresses, not ids: ranking then reads the rows directly instead of through the primary key.
  found tid[] := '{}';
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
  for word in
    with w as materialized (
      select array(
               select c.ctid from chunks c
                where c.tsv @@ t::tsquery and c.knowledge_base_id = p_kb and c.tenant_id = p_tenant
                  and (p_docs is null or c.document_id = any(p_docs))
                limit p_cap + 1) as ids
        from unnest(terms) as t
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
  return query
    select r.id, row_number() over (order by r.rank desc, r.id)
      from (select c.id, ts_rank(c.tsv, any_word) as rank from chunks c where c.ctid = any(found)) r
     order by r.rank desc, r.id
     limit p_limit;
end
$$;

-- GIN's fast update appends new entries to a pending list that every search then reads in full:
-- at the default 4 MB, about 500 pages per index scan while a knowledge base is being filled, and
-- the function above scans once per word. Turning it off makes bulk ingest 8 times slower (each
-- chunk's hundred lexemes go into the index one by one); a 1 MB list costs ingest about 1.4 times
-- and bounds what a search reads to a quarter.
alter index chunks_tsv set (gin_pending_list_limit = 1024);
