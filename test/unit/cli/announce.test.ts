// Command-line mistakes are caught before any socket is opened, so these run
// without privileges and without touching a network interface.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

function herald(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

describe('herald announce arguments', () => {
  it('is listed in the usage', async () => {
    const r = await herald(['help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /announce +answer ARP\/NDP/);
  });

  it('prints its help with --help', async () => {
    const r = await herald(['announce', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--interface IFACE/);
  });

  for (const [what, args, message] of [
    ['an invalid IPv4 address', ['-i', 'eth0', '192.0.2.256'], /not an IPv4 or IPv6 address: "192\.0\.2\.256"/],
    ['an address with a prefix', ['-i', 'eth0', '2001:db8::10/64'], /not an IPv4 or IPv6 address/],
    ['a missing interface', ['192.0.2.10'], /--interface is required/],
    ['no address', ['-i', 'eth0'], /at least one address/],
    ['an unknown flag', ['-i', 'eth0', '--frobnicate', '192.0.2.10'], /frobnicate/],
    ['a bad burst count', ['-i', 'eth0', '--burst-rounds', 'many', '192.0.2.10'], /--burst-rounds must be a non-negative integer/],
  ] as const) {
    it(`rejects ${what} with exit code 2`, async () => {
      const r = await herald(['announce', ...args]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
    });
  }
});
