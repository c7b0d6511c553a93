/** The typed contract between lib/ and the handlers (see environment.ts). */
export * from './agent-target';
export * from './bundle-parts';
export * from './environment';
export * from './topics';
