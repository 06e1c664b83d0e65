import { AppError } from '../errors.ts';
import { systemActor } from '../events/journal.ts';
import type { AgentService } from './agents.ts';
import type { TaskType, Template } from './schema.ts';

/**
 * The operations team: six built-in templates whose agents look after an Agentry deployment and a
 * climate-information site. They analyse and suggest; they change nothing themselves. Every one is
 * COLLABORATIVE and is given read-only tools only (read_journal, system_health, recent_tasks), so
 * a tool that could change something would first pause for a human's approval, and none is offered.
 *
 * Prompt templates that need data name their tool ("call the read_journal tool …") and give its
 * arguments as JSON: a real model follows the instruction, and the mock model calls a tool whose
 * name appears in the message, with the JSON object found there as its arguments.
 */

const SUGGEST_ONLY =
  'You analyse and suggest; you change nothing yourself. Every change you propose is for a human to approve ' +
  'and carry out. Say what you checked, what you found, and how sure you are.';

const task = (name: string, description: string, prompt_template: string): TaskType => ({
  name,
  description,
  prompt_template,
});

const details = '{{title}}\n\n{{description}}';

function member(
  agent: string,
  role: string,
  description: string,
  prompt: string,
  tools: string[],
  task_types: TaskType[],
): Template {
  return {
    id: `ops-${agent.toLowerCase()}`,
    builtin: true,
    name: `${agent} (${role})`,
    description,
    model: null,
    system_prompt: `You are ${agent}, the ${role} of the operations team. ${prompt}\n\n${SUGGEST_ONLY}`,
    tools,
    skills: ['operations'],
    mode: 'COLLABORATIVE',
    env: 'in_process',
    task_types,
    metadata: { team: 'operations', agent_name: agent },
    version: 1,
    created_at: null,
    updated_at: null,
  };
}

export const opsTeamTemplates: readonly Template[] = [
  member(
    'LUMINA',
    'orchestrator',
    'Plans the team’s work: breaks goals into steps and hands each to the right teammate.',
    'You turn goals into plans and decide which teammate takes each step: SAM (frontend and experience), ' +
      'EIVOR (memory keeper), ORACLE (researcher), CONNOR (systems engineer), AEGIS (safety guardian).',
    ['recent_tasks'],
    [
      task(
        'plan_frontend_improvements',
        'A step-by-step plan of frontend improvements, each step assigned and with a way to check it.',
        `Plan frontend improvements.\n\n${details}\n\nBreak the work into small steps. For each: the goal, ` +
          'the teammate who takes it (usually SAM, with ORACLE for content), and how to check it is done.',
      ),
      task(
        'plan_workflow',
        'A workflow for a goal, built on what the team is already doing.',
        'Call the recent_tasks tool with {"limit": 20} to see what the team is already working on, then ' +
          `plan a workflow for this goal.\n\n${details}\n\nGive the steps in order, who takes each, and what ` +
          'each hands to the next.',
      ),
    ],
  ),
  member(
    'SAM',
    'frontend and experience lead',
    'Reviews pages for clarity, experience and accessibility, and proposes concrete fixes.',
    'You review web pages for clarity, visual hierarchy, experience and accessibility (WCAG 2.2 AA).',
    [],
    [
      task(
        'review_climate_page',
        'A review of a climate page: clarity, accuracy of wording, experience; fixes ranked by impact.',
        `Review this climate page.\n\n${details}\n\nPage: {{payload.url}}\nContent:\n{{payload.content}}\n\n` +
          'List concrete suggestions, most important first, each with the reason and the expected effect.',
      ),
      task(
        'review_accessibility',
        'An accessibility review against WCAG 2.2 AA with the failing criteria named.',
        `Review the accessibility of this page against WCAG 2.2 AA.\n\n${details}\n\nPage: {{payload.url}}\n` +
          'Content:\n{{payload.content}}\n\nName each failing criterion, where it fails, and the fix.',
      ),
    ],
  ),
  member(
    'EIVOR',
    'memory keeper',
    'Keeps the team’s memory: summarises what happened from the journal and suggests what to tidy.',
    'You keep the team’s memory: you read the audit journal and summarise what happened, and you suggest ' +
      'what knowledge or history could be tidied.',
    ['read_journal'],
    [
      task(
        'summarize_recent_events',
        'A summary of the tenant’s recent events, read from the audit journal.',
        'Call the read_journal tool with {"limit": 100} and summarise what happened recently: who changed ' +
          `what, which agents and tasks were created, anything unusual.\n\n${details}`,
      ),
      task(
        'memory_cleanup',
        'Suggestions for knowledge bases, documents or sessions to archive, with reasons; nothing is removed.',
        'Call the read_journal tool with {"limit": 200} and suggest which knowledge bases, documents or ' +
          'sessions look stale or duplicated and could be archived, and why. List suggestions for a human ' +
          `to approve; remove nothing.\n\n${details}`,
      ),
    ],
  ),
  member(
    'ORACLE',
    'researcher',
    'Researches topics and proposes new climate missions, with sources and stated uncertainty.',
    'You research topics carefully, cite every claim, and say plainly what you could not verify.',
    ['web_search', 'web_crawl'],
    [
      task(
        'propose_new_climate_missions',
        'Three to five new climate missions, each with its rationale, audience and a measure of success.',
        `Propose three to five new climate missions.\n\n${details}\n\nFor each: the mission, why it matters ` +
          '(with sources), who it is for, and how success would be measured.',
      ),
      task(
        'research_topic',
        'A sourced summary of a topic, separating established findings from open questions.',
        `Research this topic.\n\n${details}\n\nSummarise what is established, what is debated and what is ` +
          'unknown, citing a source for each claim.',
      ),
    ],
  ),
  member(
    'CONNOR',
    'systems engineer',
    'Watches Agentry’s own health and reviews code, and proposes fixes for a human to make.',
    'You look after the systems: Agentry’s health (store, live bus, queue, model providers, sandbox) and ' +
      'its code.',
    ['system_health'],
    [
      task(
        'review_system_health',
        'A review of Agentry’s own health report, with causes and proposed fixes for anything not ok.',
        'Call the system_health tool and review Agentry’s health: which components are ok, degraded or down, ' +
          `the likely causes, and the fixes you propose.\n\n${details}`,
      ),
      task(
        'analyze_codebase',
        'An analysis of a part of the codebase: structure, risks and proposed improvements.',
        `Analyse this part of the codebase.\n\n${details}\n\nPath: {{payload.path}}\nCode:\n{{payload.code}}\n\n` +
          'Describe its structure, the risks you see, and improvements ranked by value.',
      ),
    ],
  ),
  member(
    'AEGIS',
    'safety guardian',
    'Reviews the agents’ recent activity for risk and checks claims before they are published.',
    'You guard safety and accuracy: you look for risky agent activity and for claims that are not supported.',
    ['recent_tasks'],
    [
      task(
        'review_recent_agent_tasks',
        'A review of recent agent tasks that flags risky activity (failures, destructive or secret-handling work).',
        'Call the recent_tasks tool with {"limit": 100} and review the agents’ recent tasks: flag failures and ' +
          'any task that deletes, disables or bypasses something or handles secrets, and say what a human ' +
          `should look at first.\n\n${details}`,
      ),
      task(
        'check_climate_claims',
        'A check of climate claims: each rated supported, disputed or unsupported, with the evidence.',
        `Check these climate claims.\n\n${details}\n\nClaims:\n{{payload.claims}}\n\nRate each as supported, ` +
          'disputed or unsupported, with the evidence and its source.',
      ),
    ],
  ),
];

/** The agents the default tenant starts with: name → built-in template id. */
export const opsTeam: ReadonlyArray<{ name: string; template_id: string }> = opsTeamTemplates.map((t) => ({
  name: (t.metadata as { agent_name: string }).agent_name,
  template_id: t.id,
}));

/**
 * Creates the operations team's agents in a tenant, from their built-in templates; an agent whose
 * name is taken is left as it is. Returns the names created.
 */
export async function seedOpsTeam(agents: Pick<AgentService, 'create'>, tenantId: string): Promise<string[]> {
  const created: string[] = [];
  for (const { name, template_id } of opsTeam) {
    try {
      await agents.create(tenantId, { name, template_id }, systemActor(tenantId));
      created.push(name);
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'conflict')) throw err;
    }
  }
  return created;
}
