/**
 * Test hooks at step boundaries, passed in through the deps (makeDeps builds
 * them once from the environment). Outside tests none is set and every call
 * returns at once. Step boundaries are marked with one-line calls:
 * `deps.hooks.crashPoint('attach:pending')`, `ctx.hooks?.crashPoint('bridge:veth')`.
 */
export interface Hooks {
  /**
   * Crash safety: with CNI_DOCKER_CRASH_AFTER=<step name> (or =<N>, the Nth
   * step reached by these hooks, 1-based) the process kills itself with
   * SIGKILL right after that step, as an operator's `kill -9` would.
   */
  crashPoint(step: string): void;
  /**
   * Races: with CNI_DOCKER_PAUSE_AFTER=<step>=<file> the process, on reaching
   * that step, says so on stderr and waits until <file> exists (at most 60 s),
   * so a test can change the world (stop the container, cut Docker) at
   * exactly that point.
   */
  pausePoint(step: string): Promise<void>;
}

export interface HookSettings {
  /** The crash step: a step name, or a number (the Nth step reached). */
  crashAfter?: string;
  /** The pause: `<step>=<file>`. */
  pauseAfter?: string;
}

/** What the hooks do to the process (replaced in tests of the hooks themselves). */
export interface HookEffects {
  say(line: string): void;
  kill(): void;
}

const processEffects: HookEffects = {
  say: (line) => process.stderr.write(line),
  kill: () => process.kill(process.pid, 'SIGKILL'),
};

export const noHooks: Hooks = {
  crashPoint: () => undefined,
  pausePoint: async () => undefined,
};

export function makeHooks(settings: HookSettings, effects: HookEffects = processEffects): Hooks {
  const {crashAfter, pauseAfter} = settings;
  let reached = 0;
  return {
    crashPoint(step) {
      if (!crashAfter) return;
      reached++;
      if (crashAfter === step || (/^\d+$/.test(crashAfter) && Number(crashAfter) === reached)) {
        effects.say(`crash-hook: SIGKILL after step ${reached} (${step})\n`);
        effects.kill();
      }
    },
    async pausePoint(step) {
      if (!pauseAfter) return;
      const i = pauseAfter.indexOf('=');
      if (i < 0 || pauseAfter.slice(0, i) !== step) return;
      const file = pauseAfter.slice(i + 1);
      const {existsSync} = await import('node:fs');
      effects.say(`pause-hook: paused after ${step}\n`);
      const end = Date.now() + 60_000;
      while (!existsSync(file) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    },
  };
}

/** The hooks the environment asks for (CNI_DOCKER_CRASH_AFTER, CNI_DOCKER_PAUSE_AFTER); none when neither is set. */
export function hooksFromEnv(env: Record<string, string | undefined>): Hooks {
  const settings = {crashAfter: env.CNI_DOCKER_CRASH_AFTER || undefined, pauseAfter: env.CNI_DOCKER_PAUSE_AFTER || undefined};
  return settings.crashAfter || settings.pauseAfter ? makeHooks(settings) : noHooks;
}
