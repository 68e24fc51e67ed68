// The deployment's shape, from its counts: topology/counts.ts (how many), topology/ports.ts (ports,
// their variables, local addresses), topology/model.ts (the nodes), topology/env.ts (what the
// environment gives and what an app is given).
export * from './topology/counts.ts';
export * from './topology/env.ts';
export * from './topology/hosts.ts';
export * from './topology/model.ts';
export * from './topology/ports.ts';
export * from './topology/timings.ts';
