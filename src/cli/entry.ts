/**
 * The CLI bundle's entry (bin/build.mjs bundles it into dist/cni-docker.cjs,
 * which bin/run.cjs loads): the command map oclif's explicit discovery reads,
 * and oclif's execute(), so the loader runs oclif from the same bundle.
 */
export {COMMANDS} from '../../commands/index.js';
export {execute} from '@oclif/core/execute';
