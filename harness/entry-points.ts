import { fileURLToPath } from 'node:url';

/** Compiled entry points the L2 tests start in namespaces, resolved from dist/harness/. */
export const heraldCli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
export const responderRunner = fileURLToPath(new URL('./responder-runner.js', import.meta.url));
