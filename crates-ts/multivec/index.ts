/** multivec/: multi-vector attributes (`[][N]f32`), MaxSim (late interaction) scoring and MUVERA encodings (RFC-0015). */
export * from './vector.js';
export * from './maxsim.js';
export * from './fde.js';
export * from './fde-file.js';
