-- Session search (POST /v1/sessions/search): full-text over the words of user and assistant
-- messages. An expression index, so nothing is stored twice; queries repeat the expression exactly
-- so the planner uses it. The tenant and agent filters are applied to the rows it finds.
create index messages_fts on messages using gin (to_tsvector('english', coalesce(content, '')))
  where role in ('user', 'assistant');
