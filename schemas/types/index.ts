export * from './labels.js';
export * from './k8s.js';
export * from './instanceset.js';
export * from './cluster.js';
