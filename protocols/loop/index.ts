/** The closed loop's pure parts: config, merge arithmetic, JGLV, perplexity, metrics, records. */
export * from './config.ts';
export * from './hash.ts';
export * from './ppl.ts';
export * from './jglv.ts';
export * from './metrics.ts';
export * from './merge.ts';
export * from './records.ts';
export * from './stages.ts';
export * from './stats.ts';
export * from './split.ts';
export * from './ablation.ts';
export * from './seed-pack.ts';
export * from './answers.ts';
