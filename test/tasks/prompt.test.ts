import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTaskPrompt } from '../../src/runtime/agent-runner.ts';

describe('task prompt rendering', () => {
  const task = {
    title: 'Summarise',
    description: 'briefly',
    task_type: 'summarize',
    payload: { text: 'hello', opts: { n: 3 }, list: [1, 2] },
  };

  it('substitutes title, description, task type and payload paths', () => {
    assert.equal(
      renderTaskPrompt(
        '{{title}} ({{task_type}}): {{ payload.text }} n={{payload.opts.n}} — {{description}}',
        task,
      ),
      'Summarise (summarize): hello n=3 — briefly',
    );
  });

  it('renders objects as JSON and unknown placeholders as nothing, evaluating nothing', () => {
    assert.equal(renderTaskPrompt('{{payload.opts}}', task), '{\n  "n": 3\n}');
    assert.equal(
      renderTaskPrompt('[{{payload.missing.deep}}][{{constructor}}][{{title.length}}]', task),
      '[][][]',
    );
  });
});
