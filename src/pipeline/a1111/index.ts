// A1111 mode's public part: its schedule types and the infotext fields of a request.
export { a1111SamplerOf } from './samplers.js';
export { inpaintInfotext } from './inpaint-infotext.js';
export { a1111Fields, img2imgNoiseFields, noiseScheduleField, type A1111Fields, type InfotextSettings } from './infotext-fields.js';
export { parseScheduleType, SCHEDULE_TYPES, type ScheduleType } from './schedule-types.js';
export { requestFromInfotext, img2imgNoiseFor, type InfotextRequest } from './infotext-request.js';
export { hiresInfotext } from './hires-infotext.js';
