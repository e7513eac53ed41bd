/**
 * The reaction that asks for a result's full PNGs in a direct message. Discord sends it with or without the emoji
 * presentation selector (U+FE0F), depending on the member's client.
 */
export const MAIL_EMOJI = '✉️';

/** Whether a reaction's emoji name is {@link MAIL_EMOJI}. */
export function isMailEmoji(name: string | null): boolean {
  return name === MAIL_EMOJI || name === '✉';
}
