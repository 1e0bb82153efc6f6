#!/usr/bin/env node
// Hot commands (--version, attach, detach) skip oclif's start-up; see src/cli/fast-path.ts.
import {fileURLToPath} from 'node:url';

const {runFast} = await import('../dist/src/cli/fast-path.js');
if (!(await runFast(process.argv.slice(2), fileURLToPath(new URL('..', import.meta.url))))) {
  const {execute} = await import('@oclif/core');
  await execute({dir: import.meta.url});
}
