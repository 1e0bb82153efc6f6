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

/** The configured pause: `<step>=<file>` (read once per process). */
const pauseAt: string | undefined = process.env.CNI_DOCKER_PAUSE_AFTER || undefined;

/**
 * A test hook for races: with CNI_DOCKER_PAUSE_AFTER=<step>=<file> the
 * process, on reaching that step, says so on stderr and waits until <file>
 * exists (at most 60 s), so a test can change the world (stop the container,
 * cut Docker) at exactly that point. Unset (always, outside tests) it returns
 * at once.
 */
export async function pausePoint(step: string, pauseAfter: string | undefined = pauseAt): Promise<void> {
  if (!pauseAfter) return;
  const i = pauseAfter.indexOf('=');
  if (i < 0 || pauseAfter.slice(0, i) !== step) return;
  const file = pauseAfter.slice(i + 1);
  const {existsSync} = await import('node:fs');
  process.stderr.write(`pause-hook: paused after ${step}\n`);
  const end = Date.now() + 60_000;
  while (!existsSync(file) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}
