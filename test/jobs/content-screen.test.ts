import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentAction, isFlagged } from '../../src/jobs/content-screen.js';
import type { ContentScores } from '../../src/content/scores.js';

const scores = (porn: number, hentai: number, sexy = 0): ContentScores => ({ porn, hentai, sexy, drawing: 0, neutral: 1 - porn - hentai - sexy });

describe('the content policy table', () => {
  it('applies nsfw in age-restricted channels, whether or not the classifier loaded', () => {
    for (const available of [true, false]) {
      assert.equal(contentAction({ nsfw: 'allow', nsfwOutside: 'block', nsfwThreshold: 0.5 }, true, available), 'post');
      assert.equal(contentAction({ nsfw: 'spoiler', nsfwOutside: 'block', nsfwThreshold: 0.5 }, true, available), 'spoiler');
      assert.equal(contentAction({ nsfw: 'block', nsfwOutside: 'spoiler', nsfwThreshold: 0.5 }, true, available), 'block');
    }
  });

  it('applies nsfwOutside elsewhere, and blocks there while the classifier is unavailable', () => {
    assert.equal(contentAction({ nsfw: 'allow', nsfwOutside: 'spoiler', nsfwThreshold: 0.5 }, false, true), 'spoiler');
    assert.equal(contentAction({ nsfw: 'allow', nsfwOutside: 'block', nsfwThreshold: 0.5 }, false, true), 'block');
    assert.equal(contentAction({ nsfw: 'allow', nsfwOutside: 'spoiler', nsfwThreshold: 0.5 }, false, false), 'block');
  });
});

describe('a flagged picture', () => {
  it('scores porn + hentai over the threshold; suggestive pictures alone are not flagged', () => {
    assert.equal(isFlagged({ ok: true, scores: scores(0.3, 0.25) }, 0.5), true);
    assert.equal(isFlagged({ ok: true, scores: scores(0.25, 0.25) }, 0.5), false, 'at the threshold is not over it');
    assert.equal(isFlagged({ ok: true, scores: scores(0.05, 0, 0.9) }, 0.5), false);
  });

  it('0 flags any score, 1 none', () => {
    assert.equal(isFlagged({ ok: true, scores: scores(0.001, 0) }, 0), true);
    assert.equal(isFlagged({ ok: true, scores: scores(0.6, 0.4) }, 1), false);
  });

  it('has no score: unavailable, timed out or failed counts as flagged at any threshold', () => {
    for (const reason of ['unavailable', 'timeout', 'error'] as const) assert.equal(isFlagged({ ok: false, reason, message: reason }, 1), true);
  });
});
