// Issue 18: A1111's LoRA tags in prompts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { extractLoraTags, isPipelineError } from '../../../src/pipeline/index.js';

describe('extractLoraTags', () => {
  test('positional and named strengths; unet defaults to te, te to 1; lyco is a LoRA too', () => {
    const { prompt, tags } = extractLoraTags('a cat <lora:a:0.8> <lora:b> <lora:c:0.5:0.25> <lyco:d:te=0.3:unet=0.7> <lora:e:unet=0>');
    assert.equal(prompt.replace(/\s+/g, ' ').trim(), 'a cat');
    assert.deepEqual(tags, [
      { name: 'a', te: 0.8, unet: 0.8 },
      { name: 'b', te: 1, unet: 1 },
      { name: 'c', te: 0.5, unet: 0.25 },
      { name: 'd', te: 0.3, unet: 0.7 },
      { name: 'e', te: 1, unet: 0 },
    ]);
  });

  test('takes strengths up to ±4, the bound included', () => {
    assert.deepEqual(extractLoraTags('<lora:x:-4:4>').tags, [{ name: 'x', te: -4, unet: 4 }]);
  });

  test('leaves other extra networks for the prompt reader, and a prompt without tags as it is', () => {
    assert.deepEqual(extractLoraTags('a <hypernet:h:1> cat'), { prompt: 'a <hypernet:h:1> cat', tags: [] });
  });

  test('refuses a tag without a name, or with a strength that is not a number or is beyond ±4, naming the tag', () => {
    for (const [tag, reason] of [
      ['<lora::1>', /names no LoRA/],
      ['<lora:x:strong>', /"strong" is not a number/],
      ['<lora:x:te=>', /"te=" is not a number/],
      ['<lora:x:08>', /strength 8 is outside −4 to 4/],
      ['<lora:x:1:unet=-4.5>', /strength -4.5 is outside −4 to 4/],
    ] as const) {
      assert.throws(
        () => extractLoraTags(`a ${tag}`),
        (error: unknown) => isPipelineError(error, 'INVALID_REQUEST') && error.message.includes(tag) && reason.test(error.message),
      );
    }
  });
});
