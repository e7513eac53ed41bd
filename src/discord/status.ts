import { ActivityType, Events, type ClientUser, type PresenceData } from 'discord.js';
import type { PipelineHealth, PipelineHealthSource } from '../generator/pipeline-health.js';

/**
 * The bot's presence for the pipeline's health, so members see trouble before their job fails: online when
 * ready, idle while degraded, reloading or running on the CPU fallback, do-not-disturb while down.
 */
export function presenceOf(health: PipelineHealth): PresenceData {
  const [status, text] = describe(health);
  return { status, activities: [{ type: ActivityType.Custom, name: 'Custom Status', state: text }] };
}

function describe(health: PipelineHealth): [PresenceData['status'], string] {
  switch (health.state) {
    case 'ready':
      return health.fallback ? ['idle', '🐢 Running on the CPU (the GPU failed): slower than usual'] : ['online', '🎨 Ready for /imagine'];
    case 'degraded':
      return ['idle', '⚠️ Image pipeline errors: it reloads if they go on'];
    case 'reloading':
      return ['idle', '♻️ Reloading the image pipeline'];
    case 'down':
      return ['dnd', '⛔ Image pipeline unavailable: retrying'];
  }
}

/**
 * Shows `source`'s health as `user`'s presence now and at every change (each distinct presence once), and again
 * when the gateway is back after a reconnect. Returns the function that stops it (before the client is destroyed).
 */
export function showPipelineHealth(user: ClientUser, source: PipelineHealthSource): () => void {
  let shown = '';
  const show = (health: PipelineHealth) => {
    const presence = presenceOf(health);
    const key = JSON.stringify(presence);
    if (key === shown) return;
    try {
      user.setPresence(presence);
      shown = key;
    } catch {
      // discord.js throws while the gateway reconnects ("Shard 0 not found"); the health event must not fail for
      // it (an unhandled rejection in the GPU workers' registry read): shown once the gateway is back.
      shown = '';
    }
  };
  const showAgain = () => show(source.health);
  show(source.health);
  source.on('health', show);
  user.client.on(Events.ShardReady, showAgain);
  user.client.on(Events.ShardResume, showAgain);
  return () => {
    source.off('health', show);
    user.client.off(Events.ShardReady, showAgain);
    user.client.off(Events.ShardResume, showAgain);
  };
}
