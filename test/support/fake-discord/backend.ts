import type { Cdn } from './cdn.js';
import type { ChangeFeed } from './change-feed.js';
import type { FakeClock } from './clock.js';
import type { CommandRegistry } from './command-registry.js';
import type { InteractionRegistry } from './interaction-registry.js';
import type { DirectMessages } from './direct-messages.js';
import type { MessageStore } from './message-store.js';
import type { Snowflakes } from './snowflakes.js';
import type { ViolationLog } from './violations.js';
import type { World } from './world.js';

/** The fake's state and settings, shared by its HTTP routes, its gateway and its test-facing API. */
export interface Backend {
  /** The bot token that `Authorization: Bot …` and IDENTIFY must carry. */
  readonly token: string;
  /** Bytes per file in guild channels (`attachment_size_limit`); larger uploads get 413. */
  attachmentSizeLimit: number;
  /** The WebSocket URL of the gateway, for `GET /gateway/bot` and READY's `resume_gateway_url`. */
  readonly gatewayUrl: string;
  readonly clock: FakeClock;
  readonly ids: Snowflakes;
  readonly world: World;
  readonly messages: MessageStore;
  readonly directMessages: DirectMessages;
  readonly commands: CommandRegistry;
  readonly interactions: InteractionRegistry;
  readonly cdn: Cdn;
  readonly changes: ChangeFeed;
  readonly violations: ViolationLog;
}
