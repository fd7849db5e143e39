/**
 * The testbed cleans up after itself when the process using it is
 * interrupted, and sweeps what a killed process left behind.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Testbed } from '../../harness/testbed.js';

const testbedModule = fileURLToPath(new URL('../../harness/testbed.js', import.meta.url));

const namespaces = (prefix: string) =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(prefix));

const processRunning = (marker: string) => {
  try {
    execFileSync('pgrep', ['-f', marker]);
    return true;
  } catch {
    return false;
  }
};

/** Starts a child that builds a bed, starts a process in a node, and waits. */
async function childWithBed(marker: string): Promise<{ child: ReturnType<typeof spawn>; prefix: string }> {
  const code = `
    const { Testbed } = await import(${JSON.stringify(testbedModule)});
    const bed = await Testbed.create({ nodes: 1 });
    bed.spawn(bed.node('node0'), ['sleep', '${marker}']);
    console.log(bed.prefix);
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  const prefix = chunk.toString().trim();
  assert.match(prefix, /^hrl-\d+-\d+-$/);
  return { child, prefix };
}

describe('testbed teardown', () => {
  it('removes namespaces and processes when the process is interrupted', async () => {
    const marker = `1${process.pid}1`; // a unique `sleep` argument to find the process by
    const { child, prefix } = await childWithBed(marker);
    assert.equal(namespaces(prefix).length, 3, 'lan, client, node0');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(processRunning(`sleep ${marker}`));
    child.kill('SIGINT');
    await once(child, 'exit');
    assert.deepEqual(namespaces(prefix), []);
    assert.equal(processRunning(`sleep ${marker}`), false);
  });

  it('sweeps what a killed process left behind at the next create()', async () => {
    const marker = `2${process.pid}2`;
    const { child, prefix } = await childWithBed(marker);
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.equal(namespaces(prefix).length, 3, 'SIGKILL leaves them behind');
    const bed = await Testbed.create({ nodes: 0 });
    try {
      assert.deepEqual(namespaces(prefix), []);
      assert.equal(processRunning(`sleep ${marker}`), false);
    } finally {
      await bed.destroy();
    }
    assert.deepEqual(namespaces(bed.prefix), []);
  });
});
