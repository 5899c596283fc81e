/**
 * `node --import tsx --import @kiln/tracer/register app.ts`: registers the
 * load-time transform (./transform/node-hooks) with Node's module hooks, so
 * that compile() calls imported from '@kiln/tracer' receive a getter of
 * their function's free variables and can guard closures and replay.
 * kiln's packages are TypeScript source: tsx (or another TypeScript
 * loader) must be imported before this module.
 */
import { register } from 'node:module';

register('./transform/node-hooks.ts', import.meta.url);
