/**
 * Button ids carry the action and the job id, so buttons keep working after a restart: the job record in the
 * store holds everything else. Format: `dc:<action>:<jobId>` (well under Discord's 100 characters).
 */
/**
 * Actions: `info` (a result's parameters), `details` (the same for a withheld result, moderators only: the notice
 * says so in its id, as its record may not read `blocked` yet when the notice is clicked), `reroll`, `delete`,
 * `cancel`, `vary`.
 */
export const BUTTON_ACTIONS = ['reroll', 'info', 'details', 'delete', 'cancel', 'vary'] as const;
export type ButtonAction = (typeof BUTTON_ACTIONS)[number];

const PATTERN = /^dc:([a-z]+):([0-9a-f-]{36})$/;

export function buttonId(action: ButtonAction, jobId: string): string {
  return `dc:${action}:${jobId}`;
}

/** The action and job id of a button's custom id, or undefined for anything malformed or tampered with. */
export function parseButtonId(customId: string): { action: ButtonAction; jobId: string } | undefined {
  const match = PATTERN.exec(customId);
  const action = match?.[1] as ButtonAction | undefined;
  if (!match || !action || !BUTTON_ACTIONS.includes(action)) return undefined;
  return { action, jobId: match[2] ?? '' };
}
