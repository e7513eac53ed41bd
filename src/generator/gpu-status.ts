/** One place jobs run, as `/queue` shows it: a GPU worker online, or the bot's own pipeline. */
export interface GpuStatus {
  /** The worker's `WORKER_NAME`; undefined for the bot's own pipeline. */
  readonly worker: string | undefined;
  /** The execution provider its UNet runs on (`cuda`, `cpu`, …). */
  readonly provider: string;
  /** A GPU worker's models (it takes jobs for these only); the bot's own pipeline's models loaded now. */
  readonly models: readonly string[];
  /** Batches it runs at once (a job alone is a batch of one). */
  readonly capacity: number;
  /**
   * UNet rows it runs as one batch, where it has its own limit (a GPU worker's `BATCH_MAX_ROWS`: the bot fills its
   * batches up to the smaller of this and its own); undefined for the bot's own pipeline, which the bot's limit alone
   * bounds.
   */
  readonly batchRows?: number | undefined;
  /** Jobs it runs now. */
  readonly running: number;
  /** Their job ids, where it reports them (GPU workers do; they log the same ids). */
  readonly jobIds: readonly string[];
}

/** Where the jobs run now: the GPU workers online, or the bot's own pipeline. */
export interface GpuDirectory {
  gpus(): readonly GpuStatus[];
}
