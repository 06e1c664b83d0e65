-- Full-text candidates ranked by how much of the query they cover, each word weighted by rarity.
--
-- `ts_rank` (migrations 0010 and 0012) weighs every query word alike, so in a conversation where a
-- name starts every other turn ("Caroline: …") a turn with the name and nothing else ranks with one
-- that has the question's rare words. Candidates are now ordered by the share of the query's
-- inverse document frequency (BM25's idf, ln(1 + (N − df + 0.5) / (df + 0.5))) that each one
-- contains, from 0 to 1, then by `ts_rank` among equals. The document frequencies cost nothing new:
-- gathering already fetches each word's matches from the GIN index up to `p_cap + 1`, and that
-- count is used (a word skipped as certainly common, or not reached, counts as `p_cap + 1`). N is
-- fixed at ten times the cap: only the words' relative rarity matters, and LoCoMo ranked alike with
-- the knowledge base's own count (hit@5 0.609 against 0.613). Term frequency and length
-- normalisation (BM25's k1 and b) moved hit@5 by under 0.01 and are left out; the 'simple'
-- configuration (no stemming, no stop words) lost 0.04, so 'english' stays.
-- `npm run eval:memory`, LoCoMo conversations 26 and 30: hit@5 0.533 → 0.609, recall@5 0.488 →
-- 0.560, MRR 0.416 → 0.486; notes set: hit@5 0.650 → 0.650, MRR 0.572 → 0.604.
--
-- The share is returned as `score`: hybrid search reads the best one as full-text's confidence
-- (src/memory/search.ts). A word under negation (`-word`) takes no part in it; in a query with a
-- phrase or more than 8 words, every word weighs the same.
drop function chunk_text_candidates(text, uuid, uuid, uuid[], int, int);

create function chunk_text_candidates(
  p_query text, p_kb uuid, p_tenant uuid, p_docs uuid[], p_limit int, p_cap int
) returns table (id uuid, ord bigint, score float8)
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
  -- The query's words (not those under negation), their document frequencies and idf.
  lex text[];
  df int[];
  idf float8[];
  total float8;
begin
  if q is null or numnode(q) = 0 then
    return;
  end if;
  any_word := replace(q::text, '&', '|')::tsquery;
  select coalesce(array_agg(distinct m[2]), '{}') into lex
    from regexp_matches(q::text, '(!?)(''(?:[^'']|'''')*'')', 'g') as m
   where m[1] = '';
  df := array_fill(p_cap + 1, array[cardinality(lex)]);
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
      select t, array(
               select c.ctid from chunks c
                where c.tsv @@ t::tsquery and c.knowledge_base_id = p_kb and c.tenant_id = p_tenant
                  and (p_docs is null or c.document_id = any(p_docs))
                limit p_cap + 1) as ids
        from unnest(lookup) as t
    )
    select w.t, w.ids from w order by cardinality(w.ids)
  loop
    if array_position(lex, word.t) is not null then
      df[array_position(lex, word.t)] := cardinality(word.ids);
    end if;
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
  select array_agg(ln(1 + (10.0 * p_cap - x.d + 0.5) / (x.d + 0.5)) order by x.i),
         sum(ln(1 + (10.0 * p_cap - x.d + 0.5) / (x.d + 0.5)))
    into idf, total
    from unnest(df) with ordinality as x(d, i);
  return query
    select r.id, row_number() over (order by r.cover desc, r.rank desc, r.id), r.cover
      from (select c.id, ts_rank(c.tsv, any_word) as rank,
                   -- Rounded: a chunk with every word scores 1, whatever order the sums ran in.
                   round(coalesce((select sum(x.w) from unnest(lex, idf) as x(t, w) where c.tsv @@ x.t::tsquery)
                                  / nullif(total, 0), 0)::numeric, 9)::float8 as cover
              from chunks c where c.ctid = any(found)) r
     order by r.cover desc, r.rank desc, r.id
     limit p_limit;
end
$$;
