/**
 * `node --import @kiln/tracer/register app.mjs`: registers the load-time
 * transform (./transform/node-hooks) with Node's module hooks, so that
 * compile() calls imported from '@kiln/tracer' receive a getter of their
 * function's free variables and can guard closures and replay.
 *
 * Installed from npm, kiln is JavaScript and nothing else is needed. In
 * this repository the packages are TypeScript source: there tsx (or another
 * TypeScript loader) is imported first (`node --import tsx --import
 * @kiln/tracer/register app.ts`).
 */
import { register } from 'node:module';

// The hook module has this module's extension: .ts in the sources, .js built.
const extension = /\.[cm]?[jt]s$/.exec(new URL(import.meta.url).pathname)?.[0] ?? '.js';
register(`./transform/node-hooks${extension}`, import.meta.url);
