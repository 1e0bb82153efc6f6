/**
 * A test hook for crash safety: with CNI_DOCKER_CRASH_AFTER=<step name> (or
 * =<N>, the Nth step reached in this process, 1-based) the process kills
 * itself with SIGKILL right after that step, as an operator's `kill -9`
 * would. Unset (always, outside tests) every call is a no-op.
 *
 * Step boundaries are marked with one-line calls: `crashPoint('bridge:veth')`.
 */
let reached = 0;

/** The configured crash step; read once per process (tests set it per child process). */
const target: string | undefined = process.env.CNI_DOCKER_CRASH_AFTER || undefined;

export function crashPoint(step: string, crashAfter: string | undefined = target): void {
  if (!crashAfter) return;
  reached++;
  if (crashAfter === step || (/^\d+$/.test(crashAfter) && Number(crashAfter) === reached)) {
    process.stderr.write(`crash-hook: SIGKILL after step ${reached} (${step})\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}

/** How many step boundaries this process has passed (for tests of the hook itself). */
export function stepsReached(): number {
  return reached;
}
