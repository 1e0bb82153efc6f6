import type {CmdArgs, Result} from './types.js';
import {CniError, ErrorCode, toCniError} from './errors.js';
import {decodeGo, goAny, goString, goStruct} from './go-json.js';
import {goMarshalIndent, parseJsonNode, type JsonNode} from './json.js';
import {renderResult} from './results.js';
import {validateContainerId, validateIfName, validateNetworkName} from './validate.js';
import {SUPPORTED_VERSIONS, checkVersionSupported, versionGte, versionReply} from './version.js';

/**
 * The exec-protocol dispatcher (the reference's pkg/skel): CNI_* environment
 * and the config on stdin in, exactly one result or error JSON out. Pure: the
 * caller does the process I/O, so every case is unit-testable.
 */
export interface SkelOutput {
  stdout: string;
  exitCode: number;
  stderr?: string;
}

/** What skel dispatches to (the reference's skel.CNIFuncs): one handler per command; without GC or STATUS they succeed. */
export interface CniFuncs {
  add(args: CmdArgs): Promise<Result>;
  del(args: CmdArgs): Promise<void>;
  check(args: CmdArgs): Promise<void>;
  gc?(args: CmdArgs): Promise<void>;
  status?(args: CmdArgs): Promise<void>;
}

/** The handlers for a plugin type; undefined when there is no such plugin. */
export type FuncsLoader = (type: string) => Promise<CniFuncs | undefined>;

export interface SkelOptions {
  /** The plugin to run regardless of the config's `type` (an IPAM binary gets its parent's config). */
  name?: string;
  /** First line of the "about" text printed when CNI_COMMAND is empty. */
  about?: string;
}

type Env = Record<string, string | undefined>;
const COMMANDS = ['ADD', 'CHECK', 'DEL', 'GC', 'STATUS', 'VERSION'];

/** Which env vars each command requires (spec 1.1 / library v1.3 table). */
const REQUIRED: [string, string[]][] = [
  ['CNI_COMMAND', COMMANDS],
  ['CNI_CONTAINERID', ['ADD', 'CHECK', 'DEL']],
  ['CNI_NETNS', ['ADD', 'CHECK']],
  ['CNI_IFNAME', ['ADD', 'CHECK', 'DEL']],
  ['CNI_ARGS', []],
  ['CNI_PATH', ['ADD', 'CHECK', 'DEL', 'GC', 'STATUS']],
];

function missingEnv(env: Env, cmd: string): string[] {
  return REQUIRED.filter(([name, cmds]) => !env[name] && (name === 'CNI_COMMAND' || cmds.includes(cmd))).map(([n]) => n);
}

/** What skel decodes of the config, as the reference's skel and version decoder declare it. */
const nameType = goStruct('struct { Name string "json:\\"name\\"" }', {name: goString});
const versionType = goStruct('struct { CNIVersion string "json:\\"cniVersion\\"" }', {cniVersion: goString});
/** Ours: the plugin to run when the caller names none; not a string means none. */
const typeType = goStruct('struct { Type interface {} "json:\\"type\\"" }', {type: goAny});

/** validateConfig: the config parses, and its name is present and valid. */
function decodeConf(stdin: string): {conf: JsonNode; type?: string} {
  let conf: JsonNode;
  let name: string;
  try {
    conf = parseJsonNode(stdin);
    name = decodeGo(conf, nameType).name;
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshall network config: ${(e as Error).message}`);
  }
  if (name === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name');
  validateNetworkName(name);
  const {type} = decodeGo(conf, typeType);
  return {conf, type: typeof type === 'string' ? type : undefined};
}

/** The version decoder: the cniVersion as written ("" when there is none). */
function declaredVersion(conf: JsonNode): string {
  try {
    return decodeGo(conf, versionType).cniVersion;
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `decoding version from network config: ${(e as Error).message}`);
  }
}

function about(name: string | undefined, opts: SkelOptions): string {
  const first = opts.about ?? `CNI ${name ?? 'cni-docker'} plugin version unknown`;
  return `${first}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}\n`;
}

function fail(err: unknown): SkelOutput {
  return {stdout: goMarshalIndent(toCniError(err).toJSON()), exitCode: 1};
}

function requireVersion(version: string, min: string, cmd: string): void {
  if (!versionGte(version, min)) throw new CniError(ErrorCode.IncompatibleVersion, `config version does not allow ${cmd}`);
}

export async function runSkel(env: Env, stdin: string, load: FuncsLoader, opts: SkelOptions = {}): Promise<SkelOutput> {
  const cmd = env.CNI_COMMAND ?? '';
  try {
    const missing = missingEnv(env, cmd);
    if (missing.length > 0) {
      if (cmd === '') return {stdout: '', exitCode: 0, stderr: about(opts.name, opts)};
      throw new CniError(ErrorCode.InvalidEnvironment, `required env variables [${missing.join(',')}] missing`);
    }
    if (cmd === 'VERSION') return {stdout: versionReply(), exitCode: 0};

    const {conf, type: confType} = decodeConf(stdin);
    const args: CmdArgs = {
      containerId: env.CNI_CONTAINERID ?? '',
      netns: env.CNI_NETNS ?? '',
      ifname: env.CNI_IFNAME ?? '',
      args: env.CNI_ARGS ?? '',
      path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
      stdin,
    };
    if (cmd !== 'GC' && cmd !== 'STATUS') {
      validateContainerId(args.containerId);
      validateIfName(args.ifname);
    }
    if (!COMMANDS.includes(cmd)) throw new CniError(ErrorCode.InvalidEnvironment, `unknown CNI_COMMAND: ${cmd}`);

    const declared = declaredVersion(conf);
    // No cniVersion (or an empty one) is 0.1.0.
    const version = declared || '0.1.0';
    if (cmd === 'CHECK') requireVersion(version, '0.4.0', 'CHECK');
    if (cmd === 'GC' || cmd === 'STATUS') requireVersion(version, '1.1.0', cmd);
    checkVersionSupported(version);

    const type = opts.name ?? confType ?? '';
    const plugin = await load(type);
    if (!plugin) throw new CniError(ErrorCode.InvalidNetworkConfig, `plugin type ${JSON.stringify(type)} is not built into cni-docker`);
    switch (cmd) {
      case 'ADD': {
        const result = await plugin.add(args);
        // A config without cniVersion gets a 0.1.0 result, as the reference prints it.
        return {stdout: renderResult(result, declared), exitCode: 0};
      }
      case 'DEL':
        await plugin.del(args);
        break;
      case 'CHECK':
        await plugin.check(args);
        break;
      case 'GC':
        if (plugin.gc) await plugin.gc(args);
        break;
      case 'STATUS':
        if (plugin.status) await plugin.status(args);
        break;
    }
    return {stdout: '', exitCode: 0};
  } catch (err) {
    return fail(err);
  }
}
