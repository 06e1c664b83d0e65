import type { Db } from '../db/db.ts';
import { isUuid, newId } from '../db/ids.ts';
import { patchSet } from '../db/patch.ts';
import { AppError, notFound, refuseWhileUsed, type User } from '../errors.ts';
import { type Actor, writeJournal } from '../events/journal.ts';
import { builtinTemplates } from './builtin-templates.ts';
import type { CreateTemplateInput, Template, UpdateTemplateInput } from './schema.ts';

interface TemplateRow extends Omit<Template, 'builtin' | 'created_at' | 'updated_at'> {
  tenant_id: string;
  created_at: Date;
  updated_at: Date;
}

const toTemplate = ({ tenant_id: _, ...r }: TemplateRow): Template => ({
  ...r,
  builtin: false,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

const plain = ['name', 'description', 'model', 'system_prompt', 'mode', 'env'] as const;
const json = ['tools', 'skills', 'task_types', 'metadata'] as const;

export class TemplateService {
  constructor(private readonly db: Db) {}

  /** Built-in templates, then the tenant's own (none when called without a tenant). */
  async list(tenantId?: string): Promise<Template[]> {
    if (!tenantId) return [...builtinTemplates];
    const rows = await this.db.query<TemplateRow>(
      'select * from templates where tenant_id = $1 order by created_at, id',
      [tenantId],
    );
    return [...builtinTemplates, ...rows.map(toTemplate)];
  }

  async get(tenantId: string | undefined, id: string): Promise<Template> {
    const builtin = builtinTemplates.find((t) => t.id === id);
    if (builtin) return builtin;
    if (tenantId && isUuid(id)) {
      const [row] = await this.db.query<TemplateRow>(
        'select * from templates where tenant_id = $1 and id = $2',
        [tenantId, id],
      );
      if (row) return toTemplate(row);
    }
    throw notFound('template', id);
  }

  async create(tenantId: string, input: CreateTemplateInput, who: Actor): Promise<Template> {
    const t = {
      description: '',
      model: null,
      system_prompt: '',
      tools: [],
      skills: [],
      mode: 'REACTIVE',
      env: 'in_process',
      task_types: [],
      metadata: {},
      ...input,
    };
    const id = newId();
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<TemplateRow>(
        `insert into templates (id, tenant_id, name, description, model, system_prompt, mode, env,
                                tools, skills, task_types, metadata)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb, $12::jsonb) returning *`,
        [
          id,
          tenantId,
          t.name,
          t.description,
          t.model,
          t.system_prompt,
          t.mode,
          t.env,
          JSON.stringify(t.tools),
          JSON.stringify(t.skills),
          JSON.stringify(t.task_types),
          JSON.stringify(t.metadata),
        ],
      );
      await writeJournal(tx, who, { action: 'template.create', target: id, data: { name: t.name } });
      return toTemplate(row!);
    });
  }

  async update(tenantId: string, id: string, input: UpdateTemplateInput, who: Actor): Promise<Template> {
    this.refuseBuiltin(id);
    const set = patchSet(input, { plain, json }, 3);
    if (!set.sql) return this.get(tenantId, id);
    if (!isUuid(id)) throw notFound('template', id);
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<TemplateRow>(
        `update templates set ${set.sql}, version = version + 1, updated_at = now()
         where tenant_id = $1 and id = $2 returning *`,
        [tenantId, id, ...set.params],
      );
      if (!row) throw notFound('template', id);
      await writeJournal(tx, who, {
        action: 'template.update',
        target: id,
        data: { fields: Object.keys(input) },
      });
      return toTemplate(row);
    });
  }

  /**
   * Deletes a template. Agents made from it keep the values it gave them, but still name it: without
   * `force` that is a 409 naming them; with it, they are unlinked (template_id null) and it goes.
   */
  async delete(tenantId: string, id: string, who: Actor, { force = false } = {}): Promise<void> {
    this.refuseBuiltin(id);
    if (!isUuid(id)) throw notFound('template', id);
    await this.db.transaction(async (tx) => {
      const users = await tx.query<User & { template: string }>(
        `select 'agent' as kind, a.id, a.name, 'made from it' as how, t.name as template
           from templates t join agents a on a.tenant_id = t.tenant_id and a.template_id = t.id
          where t.tenant_id = $1 and t.id = $2 order by a.name`,
        [tenantId, id],
      );
      if (force && users.length > 0) {
        await tx.query('update agents set template_id = null where tenant_id = $1 and template_id = $2', [
          tenantId,
          id,
        ]);
      } else {
        refuseWhileUsed(
          `template ${users[0]?.template}`,
          users.map(({ template: _, ...u }) => u),
        );
      }
      const rows = await tx.query('delete from templates where tenant_id = $1 and id = $2 returning id', [
        tenantId,
        id,
      ]);
      if (rows.length === 0) throw notFound('template', id);
      await writeJournal(tx, who, { action: 'template.delete', target: id });
    });
  }

  private refuseBuiltin(id: string): void {
    if (builtinTemplates.some((t) => t.id === id)) {
      throw new AppError('forbidden', `template ${id} is built in and cannot be changed`);
    }
  }
}
