/**
 * The mock provider's agent designer: deterministic, from the requirement's words. Roles come from
 * verbs and nouns (research, write, review, code, test, plan, analyse, support); two or more make a
 * team, a DAG when the wording describes stages ("then", "pipeline", "after", "step"), a swarm
 * otherwise. Tools come from each role and from words naming them (calculate, time, file, shell…),
 * limited to the tools this server has. A role with a matching built-in template names it.
 */

interface Role {
  name: string;
  words: RegExp;
  duty: string;
  tools: string[];
  template?: string;
}

const ROLES: Role[] = [
  {
    name: 'planner',
    words: /\b(plan|plans|planning|organi[sz]e|break\s+down|coordinate)\b/,
    duty: 'Break the work into steps and decide who does what.',
    tools: ['current_time'],
  },
  {
    name: 'researcher',
    words: /\b(research|investigate|gather|find|search|sources?|look\s+up)\b/,
    duty: 'Find and summarise the facts the work needs, with their sources.',
    tools: ['web_search', 'web_crawl', 'read_file'],
    template: 'researcher',
  },
  {
    name: 'analyst',
    words: /\b(analy[sz]e|analysis|data|numbers|statistics|calculate|math)\b/,
    duty: 'Work through the numbers and state the results exactly.',
    tools: ['calculator'],
  },
  {
    name: 'coder',
    words: /\b(code|coding|implement|program|script|develop|refactor|bug)\b/,
    duty: 'Write and change code in the workspace.',
    tools: ['read_file', 'write_file', 'edit_file', 'glob_files', 'bash_execute'],
    template: 'basic-assistant',
  },
  {
    name: 'tester',
    words: /\b(test|tests|testing|qa)\b/,
    duty: 'Check that the work behaves as required and report what fails.',
    tools: ['read_file', 'bash_execute'],
  },
  {
    name: 'writer',
    words: /\b(write|writes|draft|compose|blog|article|report|document|summary)\b/,
    duty: 'Write the text the requirement asks for, clearly and concisely.',
    tools: ['read_file', 'write_file'],
  },
  {
    name: 'reviewer',
    words: /\b(review|reviews|proofread|critique|check|verify|edit)\b/,
    duty: 'Review the work of the others and point out what to fix.',
    tools: ['read_file'],
  },
  {
    name: 'support',
    words: /\b(customer|support|ticket|tickets|help\s*desk|refund|billing)\b/,
    duty: 'Answer the customer politely and resolve their request.',
    tools: [],
  },
];

const TOOL_WORDS: Array<[RegExp, string[]]> = [
  [/\b(calculat\w*|arithmetic|sum|math)\b/, ['calculator']],
  [/\b(time|date|today|schedule|deadline)\b/, ['current_time']],
  [/\b(files?|folder|directory|workspace)\b/, ['read_file', 'write_file', 'glob_files']],
  [/\b(shell|bash|command|terminal)\b/, ['bash_execute']],
  [/\b(javascript|js)\b/, ['run_javascript']],
  [/\b(web|internet|online|website)\b/, ['web_search', 'web_crawl']],
];

const STAGED = /\b(then|pipeline|after|afterwards|steps?|stages?|workflow|finally)\b/;

export function heuristicProposal(requirement: string, knownTools: readonly string[]): unknown {
  const text = requirement.toLowerCase();
  const extra = TOOL_WORDS.filter(([re]) => re.test(text)).flatMap(([, tools]) => tools);
  const have = (tools: string[]) => [...new Set(tools)].filter((t) => knownTools.includes(t));
  const roles = ROLES.filter((r) => r.words.test(text))
    // In the order the requirement mentions them: a DAG's stages follow the wording.
    .sort((a, b) => (text.search(a.words) ?? 0) - (text.search(b.words) ?? 0));
  const prompt = (duty: string, team: boolean) =>
    `You are the ${team ? 'member of a team' : 'agent'} built for this requirement: ${requirement}\n\n${duty}`;
  if (roles.length < 2) {
    const role = roles[0];
    return {
      agents: [
        {
          name: role?.name ?? 'assistant',
          description: `Generated for: ${requirement.slice(0, 200)}`,
          system_prompt: prompt(role?.duty ?? 'Do what the requirement asks, step by step.', false),
          tools: have([...(role?.tools ?? []), ...extra]),
          ...(role?.template && { template_id: role.template }),
        },
      ],
    };
  }
  const dag = STAGED.test(text);
  const names = roles.map((r) => r.name);
  return {
    agents: roles.map((r) => ({
      name: r.name,
      description: r.duty,
      system_prompt: prompt(r.duty, true),
      tools: have([...r.tools, ...extra]),
      ...(r.template && { template_id: r.template }),
      ...(!dag && { handoffs: names.filter((n) => n !== r.name) }),
    })),
    team: {
      name: `${names.join('-')}-team`,
      kind: dag ? 'dag' : 'swarm',
      entry: names[0],
      ...(dag && { edges: names.slice(1).map((to, i) => ({ from: names[i]!, to })) }),
    },
  };
}
