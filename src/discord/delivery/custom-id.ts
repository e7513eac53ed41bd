/**
 * Button ids carry the action, the job id and, for the actions on one picture of a result, its number, so buttons
 * keep working after a restart: the job record in the store holds everything else. Format: `dc:<action>:<jobId>`
 * or `dc:<action>:<jobId>:<picture>` (well under Discord's 100 characters).
 */
/**
 * Actions: `info` (a result's parameters), `details` (the same for a withheld result, moderators only: the notice
 * says so in its id, as its record may not read `blocked` yet when the notice is clicked), `reroll`, `delete`,
 * `cancel`, `vary` (a variation at the server's default strength; V1…Vn), `vary-subtle` and `vary-strong` (at the
 * server's `varySubtle` / `varyStrong`), `upscale` (the picture made again with the hires fix; ⬆️, U1…Un),
 * `zoom-1.5` and `zoom-2` (zoom out), `pan-left`, `pan-right`, `pan-up`, `pan-down`.
 */
export const BUTTON_ACTIONS = [
  'reroll',
  'info',
  'details',
  'delete',
  'cancel',
  'vary',
  'vary-subtle',
  'vary-strong',
  'upscale',
  'zoom-1.5',
  'zoom-2',
  'pan-left',
  'pan-right',
  'pan-up',
  'pan-down',
] as const;
export type ButtonAction = (typeof BUTTON_ACTIONS)[number];

/** A picture's number is 1-based, as members read it (U1, V1); a job makes at most a few. */
const PATTERN = /^dc:([a-z0-9.-]+):([0-9a-f-]{36})(?::([1-9]))?$/;

/** A button's id; `picture` (1-based) for an action on one picture of the result, else the first. */
export function buttonId(action: ButtonAction, jobId: string, picture?: number): string {
  return picture === undefined ? `dc:${action}:${jobId}` : `dc:${action}:${jobId}:${picture}`;
}

/**
 * The action, job id and picture (1-based, when the id names one) of a button's custom id, or undefined for anything
 * malformed or tampered with.
 */
export function parseButtonId(customId: string): { action: ButtonAction; jobId: string; picture?: number } | undefined {
  const match = PATTERN.exec(customId);
  const action = match?.[1] as ButtonAction | undefined;
  if (!match || !action || !BUTTON_ACTIONS.includes(action)) return undefined;
  return { action, jobId: match[2] ?? '', ...(match[3] === undefined ? {} : { picture: Number(match[3]) }) };
}
