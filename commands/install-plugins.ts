import {Command} from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';

export default class InstallPlugins extends Command {
  static override description = `Write executables named bridge, macvlan, host-local, dhcp and overlay into a directory, each running cni-docker's own implementation by the CNI exec protocol.
Put the directory in CNI_PATH (podman, nerdctl, cnitool) or pass it to the conformance harness as --cand.`;

  static override examples = ['<%= config.bin %> install-plugins --dir /opt/cni-docker/bin'];

  static override flags = {
    dir: Flags.string({description: 'directory to write the plugin executables into (created if missing)', required: true}),
    json: Flags.boolean({description: 'print the written paths as JSON'}),
  };

  async run(): Promise<{dir: string; plugins: string[]}> {
    const {flags} = await this.parse(InstallPlugins);
    const {installPlugins} = await import('../src/runtime/install-plugins.js');
    const written = await installPlugins(flags.dir);
    if (flags.json) this.log(JSON.stringify({dir: flags.dir, plugins: written}, null, 2));
    else for (const file of written) this.log(file);
    return {dir: flags.dir, plugins: written};
  }
}
