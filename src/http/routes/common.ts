import { z } from 'zod';

export const idParams = z.object({ id: z.uuid() }).strict();

export const errorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  request_id: z.string(),
});

/** The error answers every authenticated route can give, for the OpenAPI document. */
export const authErrors = { 400: errorResponse, 401: errorResponse, 403: errorResponse, 404: errorResponse };
