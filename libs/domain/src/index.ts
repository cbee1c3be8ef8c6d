export * from './plans.js';
export * from './plan-fit.js';
export * from './seats.js';
export * from './permissions.js';
export * from './invariants.js';
export * from './roles.js';
export * from './second-factor.js';
export * from './permission-sources.js';
