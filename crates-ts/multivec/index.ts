/** multivec/: multi-vector attributes (`[][N]f32`), MaxSim (late interaction) scoring, MUVERA encodings and the token-level IVF (RFC-0015). */
export * from './vector.js';
export * from './maxsim.js';
export * from './fde.js';
export * from './fde-file.js';
export * from './ivf-file.js';
