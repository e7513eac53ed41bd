import type { DetailedRefusal, Refusal } from '../../refusal.js';

/** A refusal in the member's words: its details in Discord's terms (channel mentions), or its message. */
export function refusalText(refusal: Refusal | DetailedRefusal): string {
  if (!('details' in refusal)) return refusal.message;
  const where = refusal.details.allowedChannelIds.map((id) => `<#${id}>`).join(', ');
  return `I don't take requests in this channel. Please use ${where}.`;
}
