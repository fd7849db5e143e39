/**
 * A child process that cannot outlive the test that started it: it runs in a
 * process group of its own under `setpriv --pdeathsig KILL`, so it dies with
 * the test process even on SIGKILL, and stop() kills the whole group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort for a test that ends without calling stop().
  process.on('exit', () => {
    for (const p of live) p.killGroup('SIGKILL');
  });
}

export interface ManagedProcessOptions {
  /** Where stdout and stderr go, appended. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class ManagedProcess {
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private exitCode: number | null | undefined;

  private constructor(readonly name: string, command: string, args: readonly string[], opts: ManagedProcessOptions) {
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    this.child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? null : 0);
        live.delete(this);
        resolve(this.exitCode);
      });
      this.child.on('error', () => {
        this.exitCode = null;
        live.delete(this);
        resolve(null);
      });
    });
    live.add(this);
    installExitHook();
  }

  static start(name: string, command: string, args: readonly string[], opts: ManagedProcessOptions): ManagedProcess {
    return new ManagedProcess(name, command, args, opts);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} did not start`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  killGroup(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group is already gone.
    }
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.killGroup('SIGTERM');
    const timer = setTimeout(() => { this.killGroup('SIGKILL'); }, graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the process: a silent, half-open peer. */
  pause(): void { this.killGroup('SIGSTOP'); }
  resume(): void { this.killGroup('SIGCONT'); }
}
