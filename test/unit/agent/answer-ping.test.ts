import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANSWER_PING, answerPing } from '../../../src/agent/answer-ping.js';
import type { ServiceObject } from '../../../src/kube/objects.js';
import { slimService } from '../../../src/agent/slim.js';

const svc = (value?: string): ServiceObject => ({ metadata: { name: 's', namespace: 'default', ...(value === undefined ? {} : { annotations: { [ANSWER_PING]: value } }) } });

describe('the ping opt-in annotation', () => {
  it('is off when absent or "false", on when "true"', () => {
    assert.deepEqual(answerPing(svc()), { ok: true, value: false });
    assert.deepEqual(answerPing(svc('false')), { ok: true, value: false });
    assert.deepEqual(answerPing(svc('true')), { ok: true, value: true });
  });

  it('refuses any other value with what is expected', () => {
    for (const v of ['yes', 'True', '1', '']) {
      const r = answerPing(svc(v));
      assert.ok(!r.ok);
      assert.match(r.error, new RegExp(`herald.io/answer-ping must be "true" or "false", not ${JSON.stringify(JSON.stringify(v)).slice(1, -1)}`));
    }
  });

  it('survives the agent\'s slimming of Services, which drops every other annotation', () => {
    const slim = slimService({ metadata: { name: 's', namespace: 'default', annotations: { [ANSWER_PING]: 'true', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } } });
    assert.deepEqual(slim.metadata.annotations, { [ANSWER_PING]: 'true' });
  });
});
