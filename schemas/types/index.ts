export * from './labels.js';
export * from './k8s.js';
export * from './instanceset.js';
export * from './cluster.js';
export * from './topology.js';
export * from './environment.js';
export * from './sentinel.js';
export * from './guard.js';
