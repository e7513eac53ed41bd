import type { Rgb8Image } from '../pipeline/index.js';
import type { ContentScores } from './scores.js';

/** What the classifier worker is started with. */
export interface ClassifierWorkerOptions {
  /** A TensorFlow.js model folder (`model.json` and its weight files) instead of the bundled one (`NSFW_MODEL`). */
  readonly modelDir?: string | undefined;
}

export type ToClassifier = { readonly type: 'classify'; readonly id: number; readonly image: Rgb8Image };

export type FromClassifier =
  | { readonly type: 'ready'; readonly model: string }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly scores: ContentScores }
  | { readonly type: 'error'; readonly id: number; readonly message: string };
