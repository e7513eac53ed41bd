// `dreamcord <command> …`: dispatches to the sub-command modules (bin.ts is the executable).
import type { CliCommand, CliIO } from './command.js';
import { UsageError } from './command.js';

/** Sub-commands by name, loaded only when chosen so that `--help` stays instant. */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<CliCommand> }> = {};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(10)} ${summary}`);
  return ['Usage: dreamcord <command> [options]', '', 'Commands:', ...lines, '', 'dreamcord <command> --help for its options.'].join('\n');
}

export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    io.stdout.write(`${help()}\n`);
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr.write(`Unknown command "${name}".\n${help()}\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    await command.run(rest, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${error.message}\n\n${command.usage}\n`);
      return 2;
    }
    io.stderr.write(`dreamcord ${name}: ${(error as Error).message}\n`);
    return 1;
  }
}
