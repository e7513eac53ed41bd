import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';
import { WorkerClassifier, type ClassifierOptions } from '../../src/content/content-classifier.js';
import { CONTENT_CLASSES, nsfwScore, type Classification, type ContentScores } from '../../src/content/scores.js';
import { drawPng, INIT_IMAGE, pixelsOf } from '../support/pictures.js';
import { tempDir } from '../support/temp-dir.js';
import type { Rgb8Image } from '../../src/pipeline/index.js';

const silent = () => undefined;

async function rgb8(png: Uint8Array): Promise<Rgb8Image> {
  const { width, height, data } = await pixelsOf(png);
  return { width, height, data };
}

async function started(options: ClassifierOptions): Promise<WorkerClassifier> {
  const classifier = await WorkerClassifier.start(options, silent);
  after(() => classifier.close());
  return classifier;
}

function scoresOf(classification: Classification): ContentScores {
  if (!classification.ok) assert.fail(`expected scores, got ${classification.reason}: ${classification.message}`);
  return classification.scores;
}

/** nsfwjs's bundled MobileNetV2 written out as a model folder, the form `NSFW_MODEL` names. */
async function bundledModelAsFolder(dir: string): Promise<void> {
  const json = (await MobileNetV2Model.modelJson()).default;
  const [shard] = MobileNetV2Model.weightBundles;
  if (!shard) assert.fail('nsfwjs ships MobileNetV2 in one weight file');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...json, weightsManifest: json.weightsManifest?.map((group) => ({ ...group, paths: ['weights.bin'] })) }));
  writeFileSync(join(dir, 'weights.bin'), Buffer.from((await shard()).default, 'base64'));
}

/** A valid TensorFlow.js layers model with three classes where nsfwjs has five: average colour → softmax. */
function writeThreeClassModel(dir: string): void {
  const layers = [
    { class_name: 'GlobalAveragePooling2D', config: { name: 'pool', batch_input_shape: [null, 224, 224, 3], dtype: 'float32', data_format: 'channels_last' } },
    {
      class_name: 'Dense',
      config: { name: 'classes', units: 3, activation: 'softmax', use_bias: true, kernel_initializer: { class_name: 'Zeros', config: {} }, bias_initializer: { class_name: 'Zeros', config: {} } },
    },
  ];
  const model = {
    format: 'layers-model',
    modelTopology: { class_name: 'Sequential', config: { name: 'three', layers }, keras_version: '2.13.1', backend: 'tensorflow' },
    weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'classes/kernel', shape: [3, 3], dtype: 'float32' }, { name: 'classes/bias', shape: [3], dtype: 'float32' }] }],
  };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(model));
  writeFileSync(join(dir, 'weights.bin'), Buffer.from(new Float32Array(12).buffer));
}

describe('the content classifier (nsfwjs on TensorFlow.js WASM, on its own thread)', () => {
  let classifier: WorkerClassifier;
  let picture: Rgb8Image;
  before(async () => {
    classifier = await WorkerClassifier.start({}, silent);
    picture = await rgb8(INIT_IMAGE);
  });
  after(() => classifier.close());

  it('gives the five class probabilities of a picture, adding up to 1, the same every time', async () => {
    assert.equal(classifier.available, true);
    const scores = scoresOf(await classifier.classify(picture));
    assert.deepEqual(Object.keys(scores).sort(), [...CONTENT_CLASSES]);
    const values = CONTENT_CLASSES.map((name) => scores[name]);
    for (const value of values) assert.ok(value >= 0 && value <= 1, `${value} is a probability`);
    const sum = values.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `the probabilities add up to ${sum}`);
    assert.deepEqual(scoresOf(await classifier.classify(picture)), scores);
  });

  it('looks at the pixels: an ordinary picture scores low, and another picture scores differently', async () => {
    const scores = scoresOf(await classifier.classify(picture));
    assert.ok(nsfwScore(scores) < 0.5, `the fixture picture scores ${nsfwScore(scores)}`);
    const stripes = await rgb8(await drawPng(512, 512, (x) => (x % 64 < 32 ? [250, 240, 20] : [20, 30, 200])));
    assert.notDeepEqual(scoresOf(await classifier.classify(stripes)), scores);
  });

  it('loads a model folder (NSFW_MODEL) in the converter layout: the bundled model so written scores the same', async () => {
    const dir = join(tempDir(), 'model');
    await bundledModelAsFolder(dir);
    const fromFolder = await started({ modelDir: dir });
    assert.equal(fromFolder.available, true);
    assert.deepEqual(scoresOf(await fromFolder.classify(picture)), scoresOf(await classifier.classify(picture)));
  });
});

describe('the content classifier fails closed', () => {
  it('a model that cannot load leaves it unavailable, and every picture comes back without scores', async () => {
    const dir = tempDir();
    const classifier = await started({ modelDir: join(dir, 'missing') });
    assert.equal(classifier.available, false);
    const classification = await classifier.classify(await rgb8(INIT_IMAGE));
    assert.equal(classification.ok, false);
    assert.ok(!classification.ok && classification.reason === 'unavailable');
    assert.match(classification.message, /NSFW_MODEL has no readable model\.json/);
  });

  it('a model.json that is not JSON is named in the reason', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'model.json'), '{ not json');
    const classification = await (await started({ modelDir: dir })).classify(await rgb8(INIT_IMAGE));
    assert.ok(!classification.ok && /model\.json is not JSON/.test(classification.message));
  });

  it('a model that runs but is not an nsfwjs classifier gives an error for each picture, not a score', async () => {
    const dir = tempDir();
    writeThreeClassModel(dir);
    const classifier = await started({ modelDir: dir });
    assert.equal(classifier.available, true);
    const classification = await classifier.classify(await rgb8(INIT_IMAGE));
    assert.ok(!classification.ok && classification.reason === 'error', JSON.stringify(classification));
    assert.match(classification.message, /not an nsfwjs classifier/);
  });

  it('a classification past the time limit comes back as timed out, and the classifier stays usable', async () => {
    const classifier = await started({ timeoutMs: 1 });
    const classification = await classifier.classify(await rgb8(await drawPng(512, 512, () => [128, 128, 128])));
    assert.ok(!classification.ok && classification.reason === 'timeout', JSON.stringify(classification));
    assert.equal(classifier.available, true);
  });
});
