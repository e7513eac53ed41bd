import type { JobRecord } from '../../jobs/job-record.js';

/**
 * The sentence a member reads for a failed job: the one place where failure codes (`src/failure.ts`) become words.
 * Never the error's own text, which may carry ONNX Runtime's internals (the log has those).
 */
export function failureText(failure: JobRecord['failure']): string {
  // Records written before failures were data kept their sentence.
  if (failure?.message !== undefined && failure.details === undefined) return failure.message;
  const details = failure?.details ?? {};
  switch (failure?.code) {
    case 'OUT_OF_MEMORY':
      return `Ran out of memory: ${details['provider'] === 'cpu' ? 'The computer' : 'The GPU'} did not have enough free memory for this job (OOM). Try a smaller size or fewer images.`;
    case 'RUNTIME_ERROR':
      return `The model could not run this request (ONNX Runtime error on ${details['provider'] ?? 'its device'}). Other sizes or settings may work; the bot's log has the details.`;
    case 'PIPELINE_STOPPED':
      return 'The image pipeline stopped while this job ran and is being restarted. Please try again shortly.';
    case 'PIPELINE_UNAVAILABLE':
      return 'The image pipeline is unavailable right now (it could not be loaded; the bot keeps trying). Please try again in a few minutes.';
    case 'MODEL_BROKEN':
      return `The model ${details['model'] ? `\`${details['model']}\` ` : ''}cannot be used: ${details['reason'] ?? 'it could not be loaded'}. It is tried again once its file changes; pick another model meanwhile.`;
    case 'NO_WORKER':
      return `No GPU worker with ${details['model'] ? `\`${details['model']}\`` : 'its model'} came back within ${formatDuration(Number(details['waitedMs']))}, so this job was ended. Pick another model, or try again once the worker is back.`;
    case 'INPUT_MISSING':
      return `The ${details['what'] ?? 'picture'} this job starts from is no longer stored; please send it again.`;
    case 'INVALID_REQUEST':
    case 'INVALID_IMAGE':
      // A LoRA of another model family: the reason names only the file and the families.
      if (details['field'] === 'lora' && details['reason'] !== undefined) return `A LoRA of this prompt cannot be used: ${details['reason']}.`;
      return `The image pipeline refused this job${details['field'] ? ` (\`${details['field']}\`)` : ''}; the bot's log has the details.`;
    case 'TIMED_OUT':
      return `The job took longer than ${formatDuration(Number(details['limitMs']))} and was stopped.`;
    case 'INTERRUPTED':
      return `The bot stopped while this job was running (${details['attempts']} times), so it was not started again.`;
    case 'UNDELIVERABLE':
      return details['reason'] === 'lost' ? 'Its pictures were lost before they could be posted.' : 'Discord did not accept its result.';
    default:
      return "Something went wrong while making the pictures; the bot's log has the details.";
  }
}

/** "850 ms", "45 s", "10 min", "1.5 min". */
function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const minutes = ms / 60_000;
  return `${Number.isInteger(minutes) ? minutes : minutes.toFixed(1)} min`;
}
