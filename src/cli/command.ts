/** One `herald` subcommand. Each lives in its own file under src/cli/. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Resolves to the process exit code. */
  run(argv: readonly string[]): Promise<number>;
}

/** A user mistake on the command line: printed without a stack trace. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
