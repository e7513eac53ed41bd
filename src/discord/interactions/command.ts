import type {
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { Logger } from '../../log.js';
import type { RequestDefaults } from '../../jobs/build-request.js';
import type { Cooldowns } from '../../jobs/cooldowns.js';
import type { ImageInputs } from '../../inputs/image-inputs.js';
import type { JobService } from '../../jobs/job-service.js';
import type { GpuDirectory } from '../../generator/gpu-status.js';
import type { ContentScreen } from '../../jobs/content-screen.js';
import type { SettingsService } from '../../settings/settings-service.js';
import type { SettingsStore } from '../../settings/settings-store.js';

/** What every command handler is given: the bot's services, passed in by the composition root. */
export interface CommandContext {
  readonly jobs: JobService;
  readonly settings: SettingsStore;
  /** Moderators' changes to the settings (one instance, so changes to one server run one after another). */
  readonly settingsService: SettingsService;
  readonly log: Logger;
  readonly cooldowns: Cooldowns;
  /** The pictures members give `/variation` and `/inpaint`: downloaded, checked, prepared and stored. */
  readonly inputs: ImageInputs;
  /** `config/explicit-terms.txt`, read at start. */
  readonly explicitTerms: readonly string[];
  /** The content policy, for members' uploads (`/config show` warns while its classifier is unavailable). */
  readonly contentScreen: ContentScreen;
  /** Where jobs run (the GPU workers online, or the bot's own pipeline), for `/queue`. */
  readonly gpus: GpuDirectory;
  /** What requests fall back on besides the server's settings: the model's size and the product defaults. */
  readonly requestDefaults: RequestDefaults;
}

/**
 * One slash command: its definition (registered with Discord) and its handler. Each lives in its own file under
 * `src/discord/commands/` and is listed in `src/discord/commands/index.ts`.
 */
export interface SlashCommand {
  readonly data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  /** Handles the command. The router catches what it throws and tells the member something went wrong. */
  execute(interaction: ChatInputCommandInteraction, context: CommandContext): Promise<void>;
  /** Answers autocomplete for the command's options, when it has any. */
  autocomplete?(interaction: AutocompleteInteraction, context: CommandContext): Promise<void>;
}
