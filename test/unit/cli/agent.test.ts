import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../../src/cli/command.js';
import { agentCommand } from '../../../src/cli/agent.js';

// Settings are checked before anything connects, so these need no cluster.
test('unsafe coordination timings are refused at start with the reason', async () => {
  await assert.rejects(agentCommand.run(['--node-name=n1', '--hello-interval=100ms', '--suspect-after=200ms']), (err: unknown) =>
    err instanceof UsageError && /suspect-after \(200 ms\) must be at least three hello intervals \(100 ms\)/.test(err.message));
  await assert.rejects(agentCommand.run(['--node-name=n1', '--burst-rounds=0']), (err: unknown) =>
    err instanceof UsageError && /burst-rounds="0": must be a whole number of at least 1/.test(err.message));
});

test('the node name is required', async () => {
  const saved = process.env.NODE_NAME;
  delete process.env.NODE_NAME;
  try {
    await assert.rejects(agentCommand.run(['--node-name=']), (err: unknown) => err instanceof UsageError);
  } finally {
    if (saved !== undefined) process.env.NODE_NAME = saved;
  }
});
