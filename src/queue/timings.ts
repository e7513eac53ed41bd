import { BatchDurations } from './batch-durations.js';

/**
 * Cost of a job before any has finished, in ms per unit (steps × pixels × count): about 3 s for 20 steps at
 * 512×512 on a mid-range GPU. The first finished job replaces it.
 */
export const DEFAULT_MS_PER_UNIT = 6e-4;

/** Weight of the newest job in the moving average of ms per unit. Range: 0–1. */
const SMOOTHING = 0.2;
/** Finished jobs kept for the averages of `summary()`. */
const WINDOW = 50;

/** Averages over recent finished jobs. */
export interface TimingSummary {
  /** Moving average of ms per cost unit; {@link DEFAULT_MS_PER_UNIT} (or the configured guess) before any job. */
  readonly msPerUnit: number;
  /** Finished jobs in the averages below (at most 50). */
  readonly recentJobs: number;
  /** Mean run time of those jobs, in ms; 0 when there are none. */
  readonly avgRunMs: number;
  /** Mean time those jobs waited between acceptance and start, in ms; 0 when there are none. */
  readonly avgWaitMs: number;
}

/** What a batch's jobs share and how many UNet rows they take: the batch key and the sum of their sizes. */
export interface BatchShape {
  readonly key: string;
  readonly rows: number;
}

/** Jobs that start together in one GPU slot (one alone, or a batch), as their duration depends on them. */
export interface SlotRun {
  /** Their cost units in all (see `costUnits`). */
  readonly units: number;
  /** Their shape, when they can batch (a job alone included); `undefined` for jobs that always run alone. */
  readonly shape: BatchShape | undefined;
}

/**
 * Learns how long jobs take: an exponential moving average of ms per cost unit over every run of a GPU slot (a job
 * alone or a batch), the measured durations of each batch shape ({@link BatchDurations}), and recent run and wait
 * times.
 */
export class Timings {
  #msPerUnit: number;
  #measured = false;
  readonly #batches = new BatchDurations();
  readonly #recent: Array<{ readonly runMs: number; readonly waitMs: number }> = [];

  /** @param initialMsPerUnit the guess used until a job finishes. */
  constructor(initialMsPerUnit: number) {
    this.#msPerUnit = initialMsPerUnit;
  }

  /** Records a run of a GPU slot whose every job completed, the last `runMs` after their start. */
  recordRun({ units, shape }: SlotRun, runMs: number): void {
    const sample = runMs / units;
    this.#msPerUnit = this.#measured ? this.#msPerUnit + SMOOTHING * (sample - this.#msPerUnit) : sample;
    this.#measured = true;
    if (shape) this.#batches.record(shape.key, shape.rows, runMs);
  }

  /** Records a finished job that ran `runMs` after waiting `waitMs`, for {@link summary}. */
  recordJob(runMs: number, waitMs: number): void {
    this.#recent.push({ runMs, waitMs });
    if (this.#recent.length > WINDOW) this.#recent.shift();
  }

  /**
   * Expected run time of jobs started together, from their start to the last one's end, in ms: learned from batches
   * of the same shape when one has run, else proportional to their units.
   */
  expectedMs({ units, shape }: SlotRun): number {
    return (shape && this.#batches.expectedMs(shape.key, shape.rows)) ?? units * this.#msPerUnit;
  }

  summary(): TimingSummary {
    const n = this.#recent.length;
    const mean = (pick: (job: { runMs: number; waitMs: number }) => number): number =>
      n === 0 ? 0 : this.#recent.reduce((sum, job) => sum + pick(job), 0) / n;
    return { msPerUnit: this.#msPerUnit, recentJobs: n, avgRunMs: mean((j) => j.runMs), avgWaitMs: mean((j) => j.waitMs) };
  }
}
