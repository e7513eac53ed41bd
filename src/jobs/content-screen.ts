import type { ContentClassifier } from '../content/content-classifier.js';
import { nsfwScore, type Classification } from '../content/scores.js';
import type { GeneratedImages } from '../generator/generator.js';
import type { Rgb8Image } from '../pipeline/index.js';
import type { GuildSettings } from '../settings/keys.js';
import type { SettingsStore } from '../settings/settings-store.js';
import type { JobRecord } from './job-record.js';

/** What happens to a result: shown as it is, shown as a spoiler with a content warning, or withheld. */
export type ContentAction = 'post' | 'spoiler' | 'block';

/** The content policy's verdict on one result, and what it was based on (for the audit log). */
export interface Screening {
  readonly action: ContentAction;
  /** Each picture's explicit score (porn + hentai), or null when it could not be classified (counted as flagged). */
  readonly scores: readonly (number | null)[];
  /** How many pictures were flagged. */
  readonly flagged: number;
  readonly threshold: number;
  readonly ageRestricted: boolean;
  /** Why a picture had no score (unavailable, timeout, error), when one had none. */
  readonly failure?: string;
}

/** The content policy's verdict on a member's uploaded picture. */
export interface UploadScreening {
  readonly flagged: boolean;
  /** Refused: the request stops before anything runs. */
  readonly refused: boolean;
  /** Its explicit score, or null when it could not be classified (counted as flagged). */
  readonly score: number | null;
  readonly threshold: number;
  readonly failure?: string;
}

type Policy = Pick<GuildSettings, 'nsfw' | 'nsfwOutside' | 'nsfwThreshold'>;

/**
 * What the policy does with a flagged result. In age-restricted channels the server's `nsfw` applies; elsewhere
 * `nsfwOutside` (block or spoiler: never allow, as Discord wants explicit pictures in age-restricted channels only),
 * and while the classifier is unavailable, block: a filter that cannot see must not wave pictures through.
 */
export function contentAction(policy: Policy, ageRestricted: boolean, classifierAvailable: boolean): ContentAction {
  if (ageRestricted) return policy.nsfw === 'allow' ? 'post' : policy.nsfw;
  return classifierAvailable ? policy.nsfwOutside : 'block';
}

/** Whether one picture is flagged: its score over the threshold, or no score at all (the filter fails closed). */
export function isFlagged(classification: Classification, threshold: number): boolean {
  return !classification.ok || nsfwScore(classification.scores) > threshold;
}

/**
 * The screening step of the delivery (issue 20): classifies every picture of a result and applies the server's
 * content policy for the job's channel. A result with one flagged picture is treated as flagged whole (its grid
 * shows every picture).
 */
export class ContentScreen {
  readonly #classifier: ContentClassifier;
  readonly #settings: SettingsStore;

  constructor(classifier: ContentClassifier, settings: SettingsStore) {
    this.#classifier = classifier;
    this.#settings = settings;
  }

  /** Whether the classifier loaded (`/config show` warns when it did not). */
  get available(): boolean {
    return this.#classifier.available;
  }

  /**
   * Screens a picture a member uploads to start from (`/variation`, `/inpaint`), before anything runs. A flagged
   * one is refused outside age-restricted channels, and inside them where the server blocks flagged results.
   */
  async screenUpload(image: Rgb8Image, place: { readonly guildId: string | null; readonly ageRestricted: boolean }): Promise<UploadScreening> {
    const { settings } = await this.#settings.effective(place.guildId);
    const classification = await this.#classifier.classify(image);
    const flagged = isFlagged(classification, settings.nsfwThreshold);
    return {
      flagged,
      refused: flagged && (!place.ageRestricted || settings.nsfw === 'block'),
      score: classification.ok ? nsfwScore(classification.scores) : null,
      threshold: settings.nsfwThreshold,
      ...(classification.ok ? {} : { failure: `${classification.reason}: ${classification.message}` }),
    };
  }

  async screen(record: JobRecord, images: GeneratedImages): Promise<Screening> {
    const { settings } = await this.#settings.effective(record.origin.guildId);
    const ageRestricted = record.origin.ageRestricted ?? false;
    const classifications: Classification[] = [];
    for (const { image } of images.images) classifications.push(await this.#classifier.classify(image));
    const flagged = classifications.filter((c) => isFlagged(c, settings.nsfwThreshold)).length;
    const failed = classifications.find((c) => !c.ok);
    return {
      action: flagged === 0 ? 'post' : contentAction(settings, ageRestricted, this.#classifier.available),
      scores: classifications.map((c) => (c.ok ? nsfwScore(c.scores) : null)),
      flagged,
      threshold: settings.nsfwThreshold,
      ageRestricted,
      ...(failed && !failed.ok ? { failure: `${failed.reason}: ${failed.message}` } : {}),
    };
  }
}
