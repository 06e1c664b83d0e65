import { z } from 'zod';

/** A list from agentry.yaml, or comma-separated from the environment. */
export const stringList = z
  .union([z.array(z.string().min(1)), z.string().transform((v) => v.split(',').map((x) => x.trim()))])
  .pipe(z.array(z.string().min(1)))
  .default([]);
