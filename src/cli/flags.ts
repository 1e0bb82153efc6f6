import * as Flags from '@oclif/core/flags';

/** Flags shared by the commands that pick a network. */
export const networkFlags = {
  conf: Flags.string({description: 'network config file (.conf, .json or .conflist)', exclusive: ['net'], helpGroup: 'NETWORK'}),
  net: Flags.string({description: 'network name, looked up in the conf dir', exclusive: ['conf'], helpGroup: 'NETWORK'}),
  'conf-dir': Flags.string({
    description: 'conf dir for --net (default: $NETCONFPATH or /etc/cni/net.d)',
    helpGroup: 'NETWORK',
  }),
};

export const targetFlags = {
  netns: Flags.string({
    description: 'a network namespace path (e.g. /var/run/netns/X from `ip netns add X`) instead of containers (repeatable)',
    multiple: true,
  }),
  id: Flags.string({description: 'container id to record for a single --netns (default: the namespace file name)', dependsOn: ['netns']}),
};

/** For every command that reads or writes state (deps.ts resolves it, with CNI_DOCKER_STATE_ROOT as its default). */
export const stateFlags = {
  'state-root': Flags.string({
    description: 'root of every state path (result cache, host-local store, locks, metadata); default $CNI_DOCKER_STATE_ROOT, else /',
    helpGroup: 'STATE',
  }),
};
