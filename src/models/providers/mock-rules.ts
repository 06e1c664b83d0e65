import type { ChatMessage } from '../types.ts';

/**
 * Persona constraints for the mock model, so a persona is visibly at work without a real model.
 *
 * A rule is a line of a system message that starts with "Never" (after an optional list marker
 * `-`, `*`, `1.`), e.g. `- Never disable an alarm remotely: only a resident at the keypad may.`
 * Its *action* is the text after "Never" up to the first `:`, `;`, `(`, `—` or sentence end
 * ("disable an alarm remotely"). The user's message breaks the rule when it holds at least two
 * thirds of the action's content words, and at least two of them (or the only one) — compared
 * after a light stemming (lower case, possessive and common suffixes cut: alarms = alarm,
 * remotely = remote, disabling = disable). Negation is not understood: this is a mock.
 * Among several broken rules the one with the highest share of matched words wins, then the first.
 */
export interface BrokenRule {
  /** The whole rule line as written, list marker removed. */
  rule: string;
  /** The content words of the action that the message holds (stemmed). */
  matched: string[];
}

const RULE = /^\s*(?:[-*•]|\d+[.)])?\s*(never\b.*)$/i;
const ACTION_END = /[:;(—–]|\.(?:\s|$)|,\s*(?:and|but|so|even|because|unless)\b/;

// Words that carry no action: articles, pronouns, auxiliaries, politeness and quantifiers.
const STOP = new Set(
  (
    'a an the and or but if of to in on at by for from with without into onto about as is are was were be ' +
    'been being do does did done can could would should will shall may might must have has had not no nor ' +
    'so than then that this these those there here it its it’s i me my mine we us our you your yours he him ' +
    'his she her they them their what which who whom whose when where why how all any anyone anything ' +
    'anybody some someone something every everyone everything each other another more most less own same ' +
    'just only also very too please kindly now ever even let lets let’s tell give get make want need like ' +
    'one ones thing things way up down out over again once'
  ).split(/\s+/),
);

/** Cuts a word to a rough stem, so "alarms", "alarm" and "disabling", "disable" compare equal. */
export function stem(word: string): string {
  let w = word.toLowerCase().replace(/['’]s$/, '');
  for (const suffix of ['ingly', 'edly', 'ing', 'ly', 'ed', 'es', 's']) {
    if (!w.endsWith(suffix) || w.length - suffix.length < 3) continue;
    // "address" and "class" keep their double s; "addresses" loses only "es".
    if (suffix === 's' && w.endsWith('ss')) break;
    w = w.slice(0, -suffix.length);
    break;
  }
  return w.length > 3 && w.endsWith('e') ? w.slice(0, -1) : w;
}

/** The stemmed content words of a text, in order, without repeats. */
export function contentWords(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu) ?? [];
  return [...new Set(words.filter((w) => !STOP.has(w) && w.length > 1).map(stem))];
}

/** The "Never …" rules found in the system messages, in order. */
export function rulesOf(messages: readonly ChatMessage[]): string[] {
  const rules: string[] = [];
  for (const m of messages) {
    if (m.role !== 'system' || !m.content) continue;
    for (const line of m.content.split('\n')) {
      const found = RULE.exec(line)?.[1]?.trim();
      if (found) rules.push(found);
    }
  }
  return rules;
}

/** The action clause of a rule: after "Never", up to the first clause break. */
function actionOf(rule: string): string {
  const rest = rule.replace(/^never\s+/i, '');
  const end = ACTION_END.exec(rest);
  return end ? rest.slice(0, end.index) : rest;
}

/** The rule the user's message asks the persona to break, if any. */
export function brokenRule(messages: readonly ChatMessage[], userText: string): BrokenRule | undefined {
  const said = new Set(contentWords(userText));
  if (said.size === 0) return undefined;
  let best: (BrokenRule & { share: number }) | undefined;
  for (const rule of rulesOf(messages)) {
    const action = contentWords(actionOf(rule));
    if (action.length === 0) continue;
    const matched = action.filter((w) => said.has(w));
    const needed = Math.max(Math.min(2, action.length), Math.ceil((action.length * 2) / 3));
    if (matched.length < needed) continue;
    const share = matched.length / action.length;
    if (!best || share > best.share) best = { rule, matched, share };
  }
  return best && { rule: best.rule, matched: best.matched };
}

/** The refusal the mock gives, citing the rule word for word. */
export function refusal(broken: BrokenRule): string {
  return `I can't do that. It would break one of my rules: "${broken.rule}"`;
}
