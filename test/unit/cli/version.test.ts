import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { formatVersion, versionInfo } from '../../../src/cli/version.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const repo = fileURLToPath(new URL('../../../../', import.meta.url));

/** A package root outside any git checkout, as the image's /app is. */
function packageRoot(buildInfo?: string): { url: URL; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'herald-version-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'herald', version: '9.8.7' }));
  if (buildInfo !== undefined) {
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'build-info.json'), buildInfo);
  }
  return { url: pathToFileURL(`${dir}/`), remove: () => { rmSync(dir, { recursive: true, force: true }); } };
}

describe('herald version', () => {
  it('takes the commit from the build info an image build writes', () => {
    const root = packageRoot(JSON.stringify({ commit: 'abc1234def56' }));
    try {
      assert.deepEqual(versionInfo(root.url), { version: '9.8.7', commit: 'abc1234def56', node: process.version });
    } finally {
      root.remove();
    }
  });

  it('says "unknown" outside a checkout without build info, or with build info that names no commit', () => {
    for (const info of [undefined, '{}', 'not json']) {
      const root = packageRoot(info);
      try {
        assert.equal(versionInfo(root.url).commit, 'unknown');
      } finally {
        root.remove();
      }
    }
  });

  it('formats version, commit and Node.js version on one line', () => {
    assert.equal(formatVersion({ version: '0.1.0', commit: 'abc1234', node: 'v20.19.2' }), 'herald 0.1.0 (commit abc1234, node v20.19.2)');
  });

  it('prints the package version, the checkout\'s commit and this Node.js', async () => {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
    const { version } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
    const { stdout } = await run(process.execPath, [cli, 'version']);
    assert.equal(stdout, `herald ${version} (commit ${head}, node ${process.version})\n`);
  });
});
