import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskState } from '@a2a-js/sdk';
import { isFinal, taskState } from '../../src/runtime/a2a/task-map.ts';

describe('A2A task states', () => {
  it('maps every run status one to one, a run waiting on a person as input-required', () => {
    assert.equal(taskState('queued'), TaskState.TASK_STATE_SUBMITTED);
    assert.equal(taskState('running'), TaskState.TASK_STATE_WORKING);
    assert.equal(taskState('input_required'), TaskState.TASK_STATE_INPUT_REQUIRED);
    // Cut off in a tool that may not run twice: a person resumes or cancels it, as for an approval.
    assert.equal(taskState('interrupted'), TaskState.TASK_STATE_INPUT_REQUIRED);
    assert.equal(taskState('completed'), TaskState.TASK_STATE_COMPLETED);
    assert.equal(taskState('failed'), TaskState.TASK_STATE_FAILED);
    assert.equal(taskState('cancelled'), TaskState.TASK_STATE_CANCELED);
    assert.equal(isFinal('interrupted'), false);
    assert.equal(isFinal('cancelled'), true);
  });
});
