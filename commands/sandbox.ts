import * as Args from '@oclif/core/args';
import {BaseCommand} from '../src/cli/base-command.js';
import {makeDeps} from '../src/deps.js';
import {lookupSandbox, type Sandbox} from '../src/docker/lookup.js';

export default class SandboxCommand extends BaseCommand {
  static override summary = "Show a running container's Id, PID and network namespace (e.g. cni-docker sandbox web)";

  static override description =
    'Resolves a container by name, full Id or unique Id prefix through the Docker Engine API (honouring DOCKER_HOST) ' +
    'and prints its Id, name, PID and SandboxKey, the path of its network namespace. ' +
    "A container started with --net=container:X resolves to X's namespace and says so; " +
    'a --net=host container is refused, since attaching to it would reconfigure the host.';

  static override examples = [
    {description: 'Find the network namespace of the container "web"', command: '<%= config.bin %> <%= command.id %> web'},
    {description: 'The same by Id prefix, as JSON', command: '<%= config.bin %> <%= command.id %> 3f2a9c --json'},
  ];

  static override args = {
    container: Args.string({description: 'container name, full Id or unique Id prefix', required: true}),
  };

  async run(): Promise<Sandbox> {
    const {args} = await this.parse(SandboxCommand);
    const sandbox = await lookupSandbox(makeDeps().docker, args.container);
    if (!this.jsonEnabled()) {
      this.log(`Id:          ${sandbox.id}`);
      this.log(`Name:        ${sandbox.name}`);
      this.log(`PID:         ${sandbox.pid}`);
      this.log(`SandboxKey:  ${sandbox.sandboxKey}`);
      if (sandbox.note) this.log(`Note:        ${sandbox.note}`);
    }
    return sandbox;
  }
}
