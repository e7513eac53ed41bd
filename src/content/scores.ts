/**
 * The classifier's five probabilities for one picture (they add up to 1): nsfwjs's classes. `porn` and `hentai`
 * are explicit content; `sexy` is suggestive but not explicit; `drawing` and `neutral` are safe.
 */
export interface ContentScores {
  readonly drawing: number;
  readonly hentai: number;
  readonly neutral: number;
  readonly porn: number;
  readonly sexy: number;
}

export const CONTENT_CLASSES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const satisfies readonly (keyof ContentScores)[];

/**
 * How explicit a picture is, 0–1: the probability of the explicit classes together. Suggestive (`sexy`) pictures
 * are left out on purpose: they are allowed in any channel by Discord's rules.
 */
export function nsfwScore(scores: ContentScores): number {
  return scores.porn + scores.hentai;
}

/**
 * What classifying one picture gave: its scores, or why there are none. A picture without scores is treated as
 * flagged by every policy (the filter fails closed).
 */
export type Classification =
  | { readonly ok: true; readonly scores: ContentScores }
  | { readonly ok: false; readonly reason: 'unavailable' | 'timeout' | 'error'; readonly message: string };
