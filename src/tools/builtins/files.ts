import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { glob } from 'tinyglobby';
import { type ToolDefinition, ToolError } from '../types.ts';

/**
 * File tools, confined to the session's workspace (see workspace.ts). Files are UTF-8 text; reads
 * and writes are capped so one call cannot flood the model's context or fill the disk.
 */

const MAX_READ_BYTES = 256 * 1024;
const MAX_WRITE_BYTES = 1024 * 1024;
const MAX_GLOB_RESULTS = 1000;

// O_NOFOLLOW on the last component: a symlink planted after the path check is refused, not followed.
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

async function readText(file: string, given: string): Promise<string> {
  const info = await stat(file);
  if (info.isDirectory()) throw new ToolError(`${given} is a directory`);
  if (info.size > MAX_READ_BYTES) {
    throw new ToolError(
      `${given} is ${info.size} bytes; files over ${MAX_READ_BYTES} bytes cannot be read whole`,
    );
  }
  const handle = await open(file, READ_FLAGS);
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

async function writeText(file: string, content: string): Promise<number> {
  const handle = await open(file, WRITE_FLAGS, 0o644);
  try {
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
  return Buffer.byteLength(content);
}

const pathArg = {
  type: 'string',
  minLength: 1,
  maxLength: 1024,
  description: 'Path relative to the workspace',
};

export const readFileTool: ToolDefinition<{ path: string }> = {
  name: 'read_file',
  idempotent: true,
  description: 'Read a UTF-8 text file from the workspace.',
  parameters: {
    type: 'object',
    properties: { path: pathArg },
    required: ['path'],
    additionalProperties: false,
  },
  async handler({ path }, { workspace }) {
    return readText(await workspace.resolve(path, 'existing'), path);
  },
};

export const writeFileTool: ToolDefinition<{ path: string; content: string }> = {
  name: 'write_file',
  description: 'Create or replace a UTF-8 text file in the workspace (parent directories are created).',
  parameters: {
    type: 'object',
    properties: { path: pathArg, content: { type: 'string', maxLength: MAX_WRITE_BYTES } },
    required: ['path', 'content'],
    additionalProperties: false,
  },
  requires_approval: true,
  async handler({ path, content }, { workspace }) {
    if (Buffer.byteLength(content) > MAX_WRITE_BYTES)
      throw new ToolError(`content is over ${MAX_WRITE_BYTES} bytes`);
    const file = await workspace.resolve(path, 'create');
    const bytes = await writeText(file, content);
    return { path: workspace.relative(file), bytes };
  },
};

export const editFileTool: ToolDefinition<{
  path: string;
  old_text: string;
  new_text: string;
  replace_all?: boolean;
}> = {
  name: 'edit_file',
  description:
    'Replace text in a workspace file. old_text must occur exactly once unless replace_all is true.',
  parameters: {
    type: 'object',
    properties: {
      path: pathArg,
      old_text: { type: 'string', minLength: 1 },
      new_text: { type: 'string' },
      replace_all: { type: 'boolean' },
    },
    required: ['path', 'old_text', 'new_text'],
    additionalProperties: false,
  },
  requires_approval: true,
  async handler({ path, old_text, new_text, replace_all }, { workspace }) {
    const file = await workspace.resolve(path, 'existing');
    const text = await readText(file, path);
    const count = text.split(old_text).length - 1;
    if (count === 0) throw new ToolError(`old_text was not found in ${path}`);
    if (count > 1 && !replace_all) {
      throw new ToolError(`old_text occurs ${count} times in ${path}; make it unique or set replace_all`);
    }
    // split/join, not String.replace: `$&` and friends in new_text must stay literal.
    const updated = replace_all
      ? text.split(old_text).join(new_text)
      : text.replace(old_text, () => new_text);
    await writeText(file, updated);
    return { path: workspace.relative(file), replacements: replace_all ? count : 1 };
  },
};

export const globFilesTool: ToolDefinition<{ pattern: string }> = {
  name: 'glob_files',
  idempotent: true,
  description:
    'List workspace files matching a glob pattern such as "**/*.md" (paths relative to the workspace).',
  parameters: {
    type: 'object',
    properties: { pattern: { type: 'string', minLength: 1, maxLength: 512 } },
    required: ['pattern'],
    additionalProperties: false,
  },
  async handler({ pattern }, { workspace, signal }) {
    if (pattern.startsWith('/') || pattern.split('/').includes('..')) {
      throw new ToolError(`patterns are relative to the workspace, without "..": ${pattern}`);
    }
    const root = await workspace.ensure();
    // Symlinks are listed but never traversed, so the walk stays inside the workspace.
    const files = await glob(pattern, {
      cwd: root,
      followSymbolicLinks: false,
      dot: true,
      onlyFiles: true,
      expandDirectories: false,
      signal,
    });
    files.sort();
    return { files: files.slice(0, MAX_GLOB_RESULTS), truncated: files.length > MAX_GLOB_RESULTS };
  },
};
