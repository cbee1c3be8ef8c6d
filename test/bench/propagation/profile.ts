import { Session } from 'node:inspector/promises';

/**
 * An in-process V8 CPU profile of a stretch of work (BENCH_PROFILE=1 profiles the API's (b)
 * rounds): self time summed by function and by where the code lives (a package of node_modules,
 * a file of apps/ or libs/, node internals), so a slow propagation shows where the server's CPU went.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export class CpuProfiler {
  private readonly session = new Session();
  private readonly profiles: Profile[] = [];

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 200 });
  }

  async record<T>(work: () => Promise<T>): Promise<T> {
    await this.session.post('Profiler.start');
    try {
      return await work();
    } finally {
      const { profile } = (await this.session.post('Profiler.stop')) as unknown as { profile: Profile };
      this.profiles.push(profile);
    }
  }

  async stop(): Promise<void> {
    await this.session.post('Profiler.disable');
    this.session.disconnect();
  }

  /** Top entries by self time, as printable lines. */
  summary(top = 25): string[] {
    const byFunction = new Map<string, number>();
    const byPlace = new Map<string, number>();
    let total = 0;
    for (const profile of this.profiles) {
      const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
      const samples = profile.samples ?? [];
      const deltas = profile.timeDeltas ?? [];
      for (let i = 0; i < samples.length; i += 1) {
        const node = nodes.get(samples[i]!);
        const micros = deltas[i + 1] ?? deltas[i] ?? 0;
        if (!node) continue;
        const frame = node.callFrame;
        if (frame.functionName === '(idle)' || frame.functionName === '(program)') continue;
        total += micros;
        const place = placeOf(frame.url, frame.functionName);
        const name = `${frame.functionName || '(anonymous)'} ${place}:${frame.lineNumber + 1}`;
        byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
        byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
      }
    }
    const lines = (map: Map<string, number>) =>
      [...map.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(
          ([name, micros]) =>
            `    ${(micros / 1000).toFixed(1).padStart(8)} ms  ${((100 * micros) / Math.max(1, total)).toFixed(1).padStart(5)}%  ${name}`,
        );
    return [
      `  busy CPU sampled: ${(total / 1000).toFixed(0)} ms`,
      '  by place (self time):',
      ...lines(byPlace),
      '  by function (self time):',
      ...lines(byFunction),
    ];
  }
}

function placeOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return url;
  const ours = /\/((?:apps|libs|test)\/.*)$/.exec(url);
  return ours ? ours[1]! : url;
}
