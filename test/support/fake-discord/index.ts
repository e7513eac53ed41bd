// The fake Discord for end-to-end tests: see FakeDiscord.
export { FakeDiscord, type FakeDiscordOptions, type PostedMessage, type Reaction } from './fake-discord.js';
export type { FakeAttachment } from './attachments.js';
export type { FakeMessage, MessageVersion } from './fake-message.js';
export type { Fault, FaultSpec } from './faults.js';
export type { Hold, HoldSpec } from './holds.js';
export type { GatewayPresence, GatewayStats } from './gateway.js';
export type { RecordedRequest } from './http-frontend.js';
export type { AutocompleteInvocation, ButtonClick, CommandInvocation, ModalSubmission } from './interaction-dispatcher.js';
export { TOKEN_LIFETIME_MS, type Acknowledgement, type InteractionHandle, type InteractionKind } from './interaction-handle.js';
export type { OptionValue, OptionValues, RawOption } from './interaction-payloads.js';
export { ACK_DEADLINE_MS } from './interaction-routes.js';
export { ALL_PERMISSIONS, DEFAULT_BOT_PERMISSIONS, DEFAULT_MEMBER_PERMISSIONS } from './permissions.js';
export type { Violation, ViolationRule } from './violations.js';
export type { FakeApplication, FakeChannel, FakeGuild, FakeMember } from './world.js';
