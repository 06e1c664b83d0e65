import { lstat, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ToolError } from './types.ts';

/**
 * A session's working directory, the only place file tools may touch. Paths come from the model,
 * so they are treated as hostile: absolute paths and `..` segments are refused outright (even when
 * they would land inside), and every path is resolved with realpath so a symlink cannot lead out.
 * Messages name the path as the model gave it, never the host's directory layout.
 *
 * What this cannot stop is a race: a process that swaps a checked directory for a symlink between
 * the check and the use. Nothing else writes into a session's workspace (the shell tool that could
 * is not available until the sandbox exists, and it will run inside one), and the file handlers open
 * the last component with O_NOFOLLOW.
 */
export class Workspace {
  private realRoot?: string;

  /** `root` is absolute; it is created on first use. */
  constructor(readonly root: string) {}

  /** Creates the directory if needed; returns its real path. */
  async ensure(): Promise<string> {
    if (!this.realRoot) {
      await mkdir(this.root, { recursive: true });
      this.realRoot = await realpath(this.root);
    }
    return this.realRoot;
  }

  /**
   * The real path of `given` inside the workspace. `existing`: it must exist (reading, editing);
   * otherwise its missing parent directories are created (writing).
   */
  async resolve(given: string, mode: 'existing' | 'create'): Promise<string> {
    const root = await this.ensure();
    const target = lexical(root, given);
    let real: string | undefined;
    try {
      real = await realpath(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (real !== undefined) {
      if (!inside(root, real)) throw new ToolError(`path escapes the workspace through a symlink: ${given}`);
      return real;
    }
    // Missing: a dangling symlink would be followed by a write and create a file wherever it points.
    const link = await lstat(target).catch(() => undefined);
    if (link?.isSymbolicLink())
      throw new ToolError(`path is a symlink that leads outside the workspace: ${given}`);
    if (mode === 'existing') throw new ToolError(`no such file: ${given}`);
    // Find the deepest existing ancestor, check where it really is, then create the rest below it.
    let dir = path.dirname(target);
    const missing: string[] = [path.basename(target)];
    for (;;) {
      try {
        const realDir = await realpath(dir);
        if (!inside(root, realDir))
          throw new ToolError(`path escapes the workspace through a symlink: ${given}`);
        // `missing` runs from just below realDir down to the file itself.
        const parent = path.join(realDir, ...missing.slice(0, -1));
        await mkdir(parent, { recursive: true });
        return path.join(parent, missing.at(-1)!);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // Missing (the ENOENT): no symlink here, and the walk goes up one directory.
        if ((await lstat(dir).catch(() => undefined))?.isSymbolicLink()) {
          throw new ToolError(`path is a symlink that leads outside the workspace: ${given}`);
        }
        missing.unshift(path.basename(dir));
        dir = path.dirname(dir);
      }
    }
  }

  /** The path as the model should see it: relative to the workspace, `/` separated. */
  relative(real: string): string {
    return (
      path
        .relative(this.realRoot ?? this.root, real)
        .split(path.sep)
        .join('/') || '.'
    );
  }
}

/** Joins a model-given path to the root without touching the disk, refusing escapes by their shape. */
function lexical(root: string, given: string): string {
  if (typeof given !== 'string' || given.trim() === '') throw new ToolError('path is empty');
  if (given.includes('\0')) throw new ToolError('path contains a NUL byte');
  if (path.isAbsolute(given) || /^[A-Za-z]:[\\/]/.test(given)) {
    throw new ToolError(`absolute paths are not allowed; give a path relative to the workspace: ${given}`);
  }
  if (given.split(/[\\/]/).includes('..')) throw new ToolError(`".." is not allowed in paths: ${given}`);
  const joined = path.resolve(root, given);
  if (!inside(root, joined)) throw new ToolError(`path escapes the workspace: ${given}`);
  return joined;
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}
