import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { agentName, createTemplateBody } from '../agents/schema.ts';
import { parseYamlWithSchema } from '../config/yaml.ts';
import { AppError } from '../errors.ts';
import { kbKinds, kbName } from '../memory/schema.ts';

/**
 * Template packs: a folder with a `pack.yaml` and Markdown (or any ingestible) files. The manifest
 * names the pack, the agent it creates, the template that agent is made from, and the knowledge
 * bases to fill, each a `kind` (persona, domain, tools, …) and the sub-folder its files are in:
 *
 *   name: home-security            # knowledge bases are named <name>-<kind>
 *   agent: security-controller
 *   template: { name: …, system_prompt: …, tools: […], mode: COLLABORATIVE }
 *   knowledge: [{ kind: persona, folder: persona }, { kind: domain, folder: domain }]
 *
 * The packs shipped with Agentry live in `examples/`; `agentry packs install` reads one by name
 * or from any folder. This module only reads and checks packs; installing them goes through the API.
 */
export const packManifest = z
  .object({
    name: kbName,
    description: z.string().max(2000).default(''),
    /** The name of the agent the pack creates. */
    agent: agentName,
    template: createTemplateBody,
    knowledge: z
      .array(
        z
          .object({
            kind: z.enum(kbKinds),
            /** Folder with the knowledge base's files, relative to the pack. */
            folder: z.string().min(1),
            description: z.string().max(2000).default(''),
          })
          .strict(),
      )
      .max(20)
      .refine((list) => new Set(list.map((k) => k.kind)).size === list.length, 'one knowledge base per kind'),
  })
  .strict();
export type PackManifest = z.infer<typeof packManifest>;

export interface Pack extends PackManifest {
  /** The pack's folder, absolute. */
  dir: string;
}

/** Where the packs shipped with Agentry are: `examples/` beside `src/`. */
export const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url));

/** The shipped packs' names (folders of examples/ holding a pack.yaml), sorted. */
export function shippedPacks(dir = examplesDir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'pack.yaml')))
    .map((e) => e.name)
    .sort();
}

/**
 * Reads a pack by shipped name (`home-security`) or folder path, and checks it: the manifest
 * against its schema (errors name file, line and field), and every knowledge folder exists inside it.
 */
export function loadPack(ref: string): Pack {
  const shipped = path.join(examplesDir, ref);
  const dir = path.resolve(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(ref) && existsSync(path.join(shipped, 'pack.yaml')) ? shipped : ref,
  );
  const file = path.join(dir, 'pack.yaml');
  if (!existsSync(file)) {
    const known = shippedPacks();
    throw new AppError(
      'not_found',
      `no pack ${ref}: expected a folder with a pack.yaml${known.length ? `, or one of: ${known.join(', ')}` : ''}`,
    );
  }
  const manifest = parseYamlWithSchema(readFileSync(file, 'utf8'), file, packManifest);
  for (const k of manifest.knowledge) {
    const folder = path.resolve(dir, k.folder);
    if (
      path.relative(dir, folder).startsWith('..') ||
      !statSync(folder, { throwIfNoEntry: false })?.isDirectory()
    ) {
      throw new AppError(
        'config_error',
        `${file}: knowledge folder ${k.folder} is not a folder inside the pack`,
      );
    }
  }
  return { ...manifest, dir };
}
