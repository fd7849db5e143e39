#!/usr/bin/env node
import type { Command } from './command.js';
import { UsageError } from './command.js';

// Each command is loaded only when it runs, so `herald agent` does not carry
// the operator's and announce's modules (a few MiB of an agent's memory).
const commands: readonly { name: string; load: () => Promise<Command> }[] = [
  { name: 'operator', load: async () => (await import('./operator.js')).operatorCommand },
  { name: 'agent', load: async () => (await import('./agent.js')).agentCommand },
  { name: 'announce', load: async () => (await import('./announce.js')).announceCommand },
  { name: 'explain', load: async () => (await import('./explain.js')).explainCommand },
  { name: 'status', load: async () => (await import('./status.js')).statusCommand },
  { name: 'convert', load: async () => (await import('./convert.js')).convertCommand },
  { name: 'version', load: async () => (await import('./version.js')).versionCommand },
];

/** `kubectl herald` when kubectl runs us as its plugin (kubectl-herald on PATH), else `herald`. */
const self = /kubectl-herald(\.js)?$/.test(process.argv[1] ?? '') ? 'kubectl herald' : 'herald';

async function usage(): Promise<string> {
  const lines = (await Promise.all(commands.map((c) => c.load()))).map((c) => `  ${c.name.padEnd(10)} ${c.summary}`);
  return [`usage: ${self} <command> [flags]`, '', 'commands:', ...lines].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    console.log(await usage());
    return name === undefined ? 2 : 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    console.error(`${self}: unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  const command = await entry.load();
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
