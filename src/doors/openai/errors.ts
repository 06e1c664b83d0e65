import { wireError } from '../../models/openai-wire.ts';
import { wireErrorHandler } from '../wire-errors.ts';

/**
 * The error handler of every OpenAI door (chat completions, Responses, embeddings, models): OpenAI's
 * `{"error": {"message", "type", "param", "code"}}`, which the OpenAI clients parse into their error
 * classes by status, instead of the house format.
 */
export const openaiErrorHandler = wireErrorHandler((e) => wireError(e.status, e.code, e.message, e.param));
