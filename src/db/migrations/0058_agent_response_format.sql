-- Structured output for every answer of an agent (OpenAI's `response_format`: json_object or
-- json_schema). Null: free text. The agent loop checks the final answer against it.
alter table agents add column response_format jsonb;
