import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from './command.js';

/** From dist/src/cli/ at run time: the package root, where package.json is. */
const packageRoot = new URL('../../../', import.meta.url);

export interface VersionInfo {
  readonly version: string;
  readonly commit: string;
  readonly node: string;
}

/**
 * The commit herald was built from. The image build writes it to
 * dist/build-info.json (the image has no git and no .git); a checkout asks
 * git; anything else says "unknown".
 */
export function buildCommit(root: URL = packageRoot): string {
  try {
    const info = JSON.parse(readFileSync(new URL('dist/build-info.json', root), 'utf8')) as { commit?: unknown };
    if (typeof info.commit === 'string' && info.commit !== '') return info.commit;
  } catch {
    // No build info: not an image build.
  }
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: fileURLToPath(root), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000,
    }).trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

export function versionInfo(root: URL = packageRoot): VersionInfo {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
  return { version: pkg.version, commit: buildCommit(root), node: process.version };
}

export function formatVersion(v: VersionInfo): string {
  return `herald ${v.version} (commit ${v.commit}, node ${v.node})`;
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'print the herald version, the commit it was built from and the Node.js version',
  run() {
    console.log(formatVersion(versionInfo()));
    return Promise.resolve(0);
  },
};
