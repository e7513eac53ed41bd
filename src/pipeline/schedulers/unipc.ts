import {
  booleanField,
  choiceField,
  fixedField,
  numberField,
  readConfig,
  type ConfigField,
  type ConfigOf,
} from './config.js';
import { spacingFields } from './discrete.js';
import { linearCombination, solverFields } from './multistep.js';
import { SolverScheduler } from './solver-scheduler.js';
import { buffer } from './sigmas.js';
import type { SchedulerConfig, SchedulerId } from './types.js';

/** A list of step indices (`disable_corrector`). */
function indexListField(): ConfigField<readonly number[]> {
  return {
    default: [],
    read(value, where) {
      if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && (v as number) >= 0)) {
        throw new Error(`Expected ${where} to be a list of step indices (integers from 0 up), got ${JSON.stringify(value)}`);
      }
      return Object.freeze([...(value as number[])]);
    },
  };
}

const FIELDS = {
  ...solverFields(),
  predict_x0: booleanField(true),
  /** "midpoint", "heun" and "logrho" (other solvers' types) are read as "bh2", as in diffusers. */
  solver_type: choiceField('bh2', ['bh1', 'bh2', 'midpoint', 'heun', 'logrho']),
  lower_order_final: booleanField(true),
  disable_corrector: indexListField(),
  solver_p: fixedField(null),
  ...spacingFields('linspace'),
  final_sigmas_type: choiceField('zero', ['zero', 'sigma_min']),
  rescale_betas_zero_snr: fixedField(false),
  sigma_min: numberField(null, { min: 0 }),
  sigma_max: numberField(null, { min: 0 }),
  shift_terminal: fixedField(null),
} as const;

/**
 * UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework"), diffusers'
 * `UniPCMultistepScheduler`: a multistep predictor (UniP) whose result is refined by a corrector (UniC) once the
 * model output at the new point is known, at no extra model call.
 *
 * Config keys (diffusers defaults): `num_train_timesteps` 1000, `beta_start` 0.0001, `beta_end` 0.02,
 * `beta_schedule` "linear", `solver_order` 2, `prediction_type` "epsilon", `predict_x0` true, `solver_type`
 * "bh2", `lower_order_final` true, `disable_corrector` [] (step indices whose correction is skipped),
 * `use_karras_sigmas` false, `sigma_min`/`sigma_max` null (Karras bounds; null = the training range),
 * `timestep_spacing` "linspace", `steps_offset` 0, `final_sigmas_type` "zero".
 */
export class UniPCMultistepScheduler extends SolverScheduler<ConfigOf<typeof FIELDS>> {
  readonly #bh1: boolean;
  /** The (corrected) sample the last predictor started from; empty before the first step. */
  #lastSample: Float32Array = new Float32Array(0);
  /** The order of the last predictor step, which its correction reuses. */
  #lastOrder = 1;

  constructor(config: SchedulerConfig, id: SchedulerId) {
    const read = readConfig('UniPCMultistepScheduler', FIELDS, config);
    super(id, read, {
      dataPrediction: read.predict_x0,
      noisePredictionSetting: '`predict_x0` false',
      // The correction needs this step's output besides the `solver_order` previous ones.
      history: read.solver_order + 1,
      smallestSigma: 'schedule',
    });
    this.#bh1 = read.solver_type === 'bh1';
  }

  override setTimesteps(numInferenceSteps: number): void {
    super.setTimesteps(numInferenceSteps);
    this.#lastSample = new Float32Array(0);
  }

  protected override advance(index: number, modelOutput: Float32Array, sample: Float32Array): void {
    this.pushOutput(index, modelOutput, sample);
    // The history now holds [this output, m0, m1, …] where m0 belongs to the previous step.
    const correct =
      index > 0 && !this.config.disable_corrector.includes(index - 1) && this.#lastSample.length === sample.length;
    if (correct) this.#correct(index, sample);
    const { solver_order: solverOrder, lower_order_final: lowerFinal } = this.config;
    const wanted = lowerFinal ? Math.min(solverOrder, this.timesteps.length - index) : solverOrder;
    const order = Math.min(wanted, this.stepsTaken + 1);
    (this.#lastSample = buffer(this.#lastSample, sample.length)).set(sample);
    this.#predict(index, sample, order);
    this.#lastOrder = order;
  }

  /**
   * UniP (diffusers' `multistep_uni_p_bh_update`): `sample` at step `index` → step `index + 1`, from the
   * converted outputs at steps index, index − 1, … (ages 0, 1, …).
   */
  #predict(index: number, sample: Float32Array, order: number): void {
    const { h, ratios } = this.#ratios(index + 1, index, order);
    const basis = unipcBasis(h, ratios, this.dataPrediction, this.#bh1);
    // Order 2 uses ρ = ½ in closed form; higher orders solve the order − 1 leading equations.
    const leading = basis.matrix.slice(0, -1).map((row) => row.slice(0, -1));
    const rhos = order === 1 ? [] : order === 2 ? [0.5] : solve(leading, basis.rhs.slice(0, -1));
    const { base, scale } = this.#bases(index + 1, index);
    // x_t = base·x + c·m0 − scale·B_h·Σ ρ_k·(m_k − m0)/r_k.
    const onHistory = rhos.map((rho, k) => (-scale * basis.bh * rho) / (ratios[k] ?? 1));
    const onM0 = -scale * basis.hPhi1 - onHistory.reduce((sum, c) => sum + c, 0);
    linearCombination(sample, [base, onM0, ...onHistory], [sample, ...this.newestOutputs(order)]);
  }

  /**
   * UniC (diffusers' `multistep_uni_c_bh_update`): replaces `sample` at step `index` with the correction of the
   * last prediction, now that its model output (history age 0) is known.
   */
  #correct(index: number, sample: Float32Array): void {
    const order = this.#lastOrder;
    const { h, ratios } = this.#ratios(index, index - 1, order);
    const basis = unipcBasis(h, ratios, this.dataPrediction, this.#bh1);
    const rhos = order === 1 ? [0.5] : solve(basis.matrix, basis.rhs);
    const { base, scale } = this.#bases(index, index - 1);
    // x_t = base·x_last + c·m0 − scale·B_h·(Σ ρ_k·(m_k − m0)/r_k + ρ_last·(m_t − m0)).
    const onHistory = rhos.slice(0, -1).map((rho, k) => (-scale * basis.bh * rho) / (ratios[k] ?? 1));
    const onNew = -scale * basis.bh * (rhos[rhos.length - 1] ?? 0);
    const onM0 = -scale * basis.hPhi1 - onHistory.reduce((sum, c) => sum + c, 0) - onNew;
    const older = Array.from({ length: order - 1 }, (_, k) => this.outputs.at(k + 2));
    linearCombination(
      sample,
      [base, onNew, onM0, ...onHistory],
      [this.#lastSample, this.outputs.at(0), this.outputs.at(1), ...older],
    );
  }

  /**
   * h = λ_t − λ_s0 between positions `t` and `s0` of the sigmas, and r_k = (λ_{s0−k} − λ_s0)/h for the
   * `order − 1` earlier positions (float32 like torch).
   */
  #ratios(t: number, s0: number, order: number): { h: number; ratios: number[] } {
    const f = Math.fround;
    const from = this.levels.at(s0).lambda;
    const h = f(this.levels.at(t).lambda - from);
    const ratios = Array.from({ length: order - 1 }, (_, k) => f(f(this.levels.at(s0 - k - 1).lambda - from) / h));
    return { h, ratios };
  }

  /** The coefficient of the start sample and the scale of the output terms, from `s0` to `t`. */
  #bases(t: number, s0: number): { base: number; scale: number } {
    const to = this.levels.at(t);
    const from = this.levels.at(s0);
    return this.dataPrediction
      ? { base: Math.fround(to.sigma / from.sigma), scale: to.alpha }
      : { base: Math.fround(to.alpha / from.alpha), scale: to.sigma };
  }
}

/** The scalars of one UniPC update: h·φ₁(h), B(h) and the order conditions R·ρ = b. */
interface UniPCBasis {
  readonly hPhi1: number;
  readonly bh: number;
  readonly matrix: number[][];
  readonly rhs: number[];
}

/**
 * The order conditions of UniPC for step size `h` and ratios r_1…r_{p−1} (r_p = 1): row i of R holds r_k^(i−1),
 * b_i = i!·h·φ_{i+1}(h)/B(h), with φ built by the recursion of diffusers (float32 like torch).
 */
function unipcBasis(h: number, ratios: readonly number[], predictX0: boolean, bh1: boolean): UniPCBasis {
  const f = Math.fround;
  const hh = predictX0 ? -h : h;
  const hPhi1 = f(Math.expm1(hh));
  const bh = bh1 ? hh : hPhi1;
  const rks = [...ratios, 1];
  const matrix: number[][] = [];
  const rhs: number[] = [];
  let hPhiK = f(f(hPhi1 / hh) - 1);
  let factorial = 1;
  for (let i = 1; i <= rks.length; i++) {
    matrix.push(rks.map((r) => f(r ** (i - 1))));
    rhs.push(f(f(hPhiK * factorial) / bh));
    factorial *= i + 1;
    hPhiK = f(f(hPhiK / hh) - f(1 / factorial));
  }
  return { hPhi1, bh, matrix, rhs };
}

/** Solves the small dense system A·x = b by Gaussian elimination with partial pivoting (like LAPACK's gesv). */
function solve(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const rows = a.map((row, i) => [...row, b[i] ?? 0]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) {
      if (Math.abs(rows[r]?.[col] ?? 0) > Math.abs(rows[pivot]?.[col] ?? 0)) pivot = r;
    }
    const pivotRow = rows[pivot] ?? [];
    rows[pivot] = rows[col] ?? [];
    rows[col] = pivotRow;
    const diagonal = pivotRow[col] ?? 0;
    if (diagonal === 0) throw new Error('UniPC order conditions are singular (repeated noise levels in the schedule)');
    for (let r = col + 1; r < n; r++) {
      const row = rows[r] ?? [];
      const factor = (row[col] ?? 0) / diagonal;
      for (let c = col; c <= n; c++) row[c] = (row[c] ?? 0) - factor * (pivotRow[c] ?? 0);
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    const row = rows[r] ?? [];
    let sum = row[n] ?? 0;
    for (let c = r + 1; c < n; c++) sum -= (row[c] ?? 0) * (x[c] ?? 0);
    x[r] = sum / (row[r] ?? 1);
  }
  return x;
}
