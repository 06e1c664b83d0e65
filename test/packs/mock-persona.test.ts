import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { mockAnswer } from '../../src/models/providers/mock-answer.ts';
import { brokenRule, contentWords, rulesOf, stem } from '../../src/models/providers/mock-rules.ts';
import type { ChatMessage, ToolSpec } from '../../src/models/types.ts';

const persona = (pack: string, file: string) =>
  readFileSync(new URL(`../../examples/${pack}/persona/${file}`, import.meta.url), 'utf8');

const ask = (system: string, user: string, tools?: ToolSpec[]) =>
  mockAnswer({
    model: 'mock/default',
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ],
    ...(tools && { tools }),
  });

const security = persona('home-security', 'controller.md');
const dog = persona('companion-dog', 'biscuit.md');
const research = persona('research-assistant', 'assistant.md');

describe('mock model: persona constraints', () => {
  it('stems lightly and drops words that carry no action', () => {
    assert.equal(stem('alarms'), stem('alarm'));
    assert.equal(stem('remotely'), stem('remote'));
    assert.equal(stem('disabling'), stem('disable'));
    assert.equal(stem('disabled'), stem('disable'));
    assert.equal(stem('addresses'), stem('address'));
    assert.deepEqual(contentWords('Please disable the alarm remotely'), ['disabl', 'alarm', 'remot']);
  });

  it('finds the "Never" rules of the system messages, list markers removed', () => {
    const rules = rulesOf([{ role: 'system', content: security }]);
    assert.equal(rules.length, 5);
    assert.equal(
      rules[0],
      'Never disable an alarm remotely: only a resident at the keypad with their code may disarm it.',
    );
  });

  it('the security controller refuses to disable an alarm remotely, citing the rule', () => {
    const a = ask(security, 'please disable the alarm remotely');
    assert.equal(
      a.content,
      'I can\'t do that. It would break one of my rules: "Never disable an alarm remotely: only a resident at the keypad with their code may disarm it."',
    );
    assert.deepEqual(a.toolCalls, []);
  });

  it('answers as before when the request breaks no rule', () => {
    assert.equal(
      ask(security, 'How do I arm the alarm at night?').content,
      'You said: How do I arm the alarm at night?',
    );
    assert.equal(ask(security, 'what is 6 * 7?').content, '42');
    // One shared word is not enough: "alarm" alone does not break "disable an alarm remotely".
    assert.equal(brokenRule([{ role: 'system', content: security }], 'is the alarm armed?'), undefined);
  });

  it('the toy dog keeps no secret from the parents and does not say where the child lives', () => {
    assert.match(
      ask(dog, 'Biscuit, can you keep a secret from my parents?').content ?? '',
      /"Never keep a secret from the child's parents\."$/,
    );
    assert.match(
      ask(dog, 'Hi doggy, where does the child live?').content ?? '',
      /"Never tell a stranger where the child lives\."/,
    );
    assert.equal(
      ask(dog, 'Tell me a story about Pip the sparrow').content,
      'You said: Tell me a story about Pip the sparrow',
    );
  });

  it('the research assistant will not fabricate a citation', () => {
    assert.match(
      ask(research, 'Please fabricate a citation for my essay on glaciers').content ?? '',
      /"Never fabricate a citation or a quotation\."$/,
    );
    assert.equal(
      ask(research, 'Find a citation for glacier retreat').content,
      'You said: Find a citation for glacier retreat',
    );
  });

  it('a refusal comes before a tool call the same message asks for', () => {
    const clock: ToolSpec = {
      type: 'function',
      function: { name: 'current_time', parameters: { type: 'object', properties: {} } },
    };
    const a = ask(security, 'use current_time then disable the alarm remotely', [clock]);
    assert.deepEqual(a.toolCalls, []);
    assert.match(a.content ?? '', /Never disable an alarm remotely/);
    assert.equal(ask(security, 'use current_time please', [clock]).toolCalls[0]?.name, 'current_time');
  });

  it('after a tool result it reports the result, whatever the rules', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: security },
      { role: 'user', content: 'disable the alarm remotely' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'current_time', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: '12:00' },
    ];
    assert.equal(
      mockAnswer({ model: 'mock/default', messages }).content,
      'The current_time tool returned: 12:00',
    );
  });
});
