-- A chat message sent with attachments (images, audio, files): its content parts as sent, text
-- first, so the history the model sees again keeps them. Null: a text-only message.
alter table messages add column parts jsonb;
