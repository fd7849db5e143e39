import { readFileSync } from 'node:fs';
import type { Command } from './command.js';

export const versionCommand: Command = {
  name: 'version',
  summary: 'print the herald version',
  run() {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    console.log(`herald ${pkg.version}`);
    return Promise.resolve(0);
  },
};
