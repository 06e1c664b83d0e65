import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { ErrorNote } from '../../components/ErrorNote';
import { api, unwrap } from '../../lib/api';
import type { Template } from '../../lib/types';
import { AgentForm } from './AgentForm';
import { blankDraft, bodyOf, type Draft, draftOfTemplate, type Field, fieldsOfNew } from './draft';
import { agentKeys, useModels, useTemplates } from './queries';

/**
 * A new agent, blank or from a template. From a template the form starts with the template's
 * values and only the fields the user changed are sent with `template_id`: the server fills the
 * rest from the template, so the user's fields win and the template's stay where untouched.
 */
export function NewAgent() {
  const [params, setParams] = useSearchParams();
  const templates = useTemplates();
  const models = useModels();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const wantsTemplate = params.get('from') === 'template';
  const templateId = params.get('template');
  const template = templates.data?.find((t) => t.id === templateId);
  const defaultModel = models.data?.[0] ?? '';
  const create = useMutation({
    mutationFn: async ({ d, dirty }: { d: Draft; dirty: Set<Field> }) => {
      const body = template
        ? { ...bodyOf(d, dirty), name: d.name, template_id: template.id, source: 'template' as const }
        : { ...bodyOf(d, fieldsOfNew(dirty)), name: d.name, source: 'basic' as const };
      return unwrap(await api.POST('/v1/agents', { body }));
    },
    onSuccess: (a) => {
      void qc.invalidateQueries({ queryKey: agentKeys.all });
      navigate(`/agents/${a.id}`);
    },
  });

  if (wantsTemplate && !template) {
    return (
      <section>
        <h1>New agent from a template</h1>
        <ErrorNote error={templates.error} />
        {templates.isPending ? <p className="muted">Loading templates…</p> : null}
        <ul className="template-list">
          {templates.data?.map((t) => (
            <li key={t.id}>
              <TemplateCard t={t} onPick={() => setParams({ from: 'template', template: t.id })} />
            </li>
          ))}
        </ul>
        <p>
          <Link to="/agents/new">Or start blank</Link>
        </p>
      </section>
    );
  }
  if (!models.data && !models.error) return <p className="muted">Loading…</p>;
  return (
    <section>
      <h1>{template ? `New agent from “${template.name}”` : 'New agent'}</h1>
      {template ? (
        <p className="muted">
          The template’s values are filled in; whatever you change here wins over the template.{' '}
          <Link to="/agents/new?from=template">Pick another template</Link>
        </p>
      ) : null}
      <ErrorNote error={models.error} />
      <AgentForm
        key={template?.id ?? 'blank'}
        initial={template ? draftOfTemplate(template, defaultModel) : blankDraft(defaultModel)}
        editable
        submitLabel="Create agent"
        busy={create.isPending}
        error={create.error}
        onSubmit={(d, dirty) =>
          create.mutate({ d, dirty: template ? fieldsOfTemplate(dirty, template) : dirty })
        }
      />
    </section>
  );
}

/**
 * What an agent from a template sends: the fields the user changed, and every field the template
 * does not fill, as the form shows it (the server's own default would otherwise differ from what was
 * on screen: visibility `tenant` where the form said `private`). A template without a model takes the
 * form's default model, which must then be sent too.
 */
function fieldsOfTemplate(dirty: Set<Field>, t: Template): Set<Field> {
  const out = new Set<Field>([...dirty, 'visibility', 'knowledge', 'handoffs']);
  if (!t.model) out.add('model');
  return out;
}

function TemplateCard({ t, onPick }: { t: Template; onPick: () => void }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="template">
      <h2>{t.name}</h2>
      <p>{t.description}</p>
      <p className="muted small">
        {t.mode} · tools: {t.tools.join(', ') || 'none'}
        {t.task_types.length ? ` · task types: ${t.task_types.map((x) => x.name).join(', ')}` : ''}
      </p>
      {open ? <pre className="prompt">{t.system_prompt}</pre> : null}
      <div className="actions">
        <button type="button" onClick={onPick}>
          Use {t.name}
        </button>
        <button type="button" className="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide instructions' : 'Show instructions'}
        </button>
      </div>
    </div>
  );
}
