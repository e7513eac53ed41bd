// `dreamcord <command> …`: dispatches to the sub-command modules (bin.ts is the executable).
import type { CliCommand, CliIO } from './command.js';
import { UsageError } from './command.js';
import { modelExitCode } from './exit-codes.js';

/** Sub-commands by name, each loaded only when needed (`generate` pulls in ONNX Runtime). */
export const COMMANDS: Record<string, () => Promise<CliCommand>> = {
  convert: async () => (await import('./convert.js')).convertCommand,
  generate: async () => (await import('./generate.js')).generateCommand,
  models: async () => (await import('./models.js')).modelsCommand,
  tokenize: async () => (await import('./tokenize.js')).tokenizeCommand,
  worker: async () => (await import('./worker.js')).workerCommand,
};

async function help(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  const lines = commands.map((command) => `  ${command.name.padEnd(10)} ${command.summary}`);
  return ['Usage: dreamcord <command> [options]', '', 'Commands:', ...lines, '', 'dreamcord <command> --help for its options.'].join('\n');
}

/** Runs `dreamcord …` with `argv` (without node and the script) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    io.stdout.write(`${await help()}\n`);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(`Unknown command "${name}".\n${await help()}\n`);
    return 2;
  }
  const command = await load();
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
    // One line, never a stack trace: the message names the file and what is wrong with it.
    io.stderr.write(`dreamcord ${name}: ${(error as Error).message}\n`);
    return modelExitCode(error) ?? 1;
  }
}
