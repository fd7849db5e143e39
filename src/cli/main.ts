#!/usr/bin/env node
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { agentCommand } from './agent.js';
import { operatorCommand } from './operator.js';
import { versionCommand } from './version.js';
import { announceCommand } from './announce.js';

const commands: readonly Command[] = [operatorCommand, agentCommand, announceCommand, versionCommand];

function usage(): string {
  const lines = commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`);
  return ['usage: herald <command> [flags]', '', 'commands:', ...lines].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`herald: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`herald ${name}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
