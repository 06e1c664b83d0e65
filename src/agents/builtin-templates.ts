import { opsTeamTemplates } from './packs-ops-team.ts';
import type { Template } from './schema.ts';

/**
 * Templates that ship with Agentry. Tenant templates live in the `templates` table beside them. The
 * first two are isA's static templates (isa-agent-creation.md): their ids, names, tools, skills and
 * mode are the ones isA's clients know.
 */
export const builtinTemplates: readonly Template[] = [
  {
    id: 'basic-assistant',
    builtin: true,
    name: 'Basic Assistant',
    description: 'A general assistant that reads and edits files in its workspace and runs shell commands.',
    model: null,
    system_prompt:
      'You are a careful, helpful assistant. Work inside your workspace, explain what you change, ' +
      'and ask before anything destructive.',
    tools: ['read_file', 'write_file', 'edit_file', 'bash_execute', 'glob_files'],
    skills: ['filesystem', 'code'],
    mode: 'COLLABORATIVE',
    env: 'in_process',
    task_types: [],
    metadata: {},
    version: 1,
    created_at: null,
    updated_at: null,
  },
  {
    id: 'researcher',
    builtin: true,
    name: 'Web Researcher',
    description: 'Searches and reads the web, then writes up findings with sources.',
    model: null,
    system_prompt:
      'You are a research-focused assistant. Search, read the sources, cite every claim, and say ' +
      'plainly what you could not verify.',
    tools: ['web_search', 'web_crawl', 'read_file', 'write_file'],
    skills: ['web'],
    mode: 'COLLABORATIVE',
    env: 'in_process',
    task_types: [],
    metadata: {},
    version: 1,
    created_at: null,
    updated_at: null,
  },
  ...opsTeamTemplates,
];
