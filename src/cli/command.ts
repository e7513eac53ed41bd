/** One `dreamcord <name>` sub-command. `main.ts` dispatches to it by name. */
export interface CliCommand {
  readonly name: string;
  /** One line for `dreamcord --help`. */
  readonly summary: string;
  /** Full usage text, printed with `dreamcord <name> --help` and after a usage error. */
  readonly usage: string;
  /** Runs the command. Output goes to `io.stdout`/`io.stderr`; bad arguments throw `UsageError`. */
  run(argv: readonly string[], io: CliIO): Promise<void>;
}

export interface CliIO {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Wrong or missing arguments: `main.ts` prints the message and the command's usage and exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
