// How the bench turns windows of load into results: the ratios, the checks that stop or
// invalidate a run, and the rules its loads follow. Kept apart from run.mjs, which drives
// real processes, so that test/bench tests them.

/**
 * Measures warmed-up scenarios in windows that alternate with their baseline's: baseline,
 * each scenario in turn with a baseline window after it, `rounds` times. Each scenario
 * window's baseline is the mean of the two windows either side of it, and its ratio is
 * its answers per second over all its windows to the mean of those. One 6 s window
 * between two baselines was at the mercy of this host's drift: bare Koa alone moved from
 * 51,000 to 71,000 req/s within a minute (BENCHMARKS.md).
 */
export async function interleaved(baseline, scenarios, rounds) {
  let before = mustBeSound(`${baseline.name} window`, await baseline.measure());
  const windows = new Map(scenarios.map((scenario) => [scenario, []]));
  const baselineWindows = [before];
  for (let round = 0; round < rounds; round++) {
    for (const scenario of scenarios) {
      const measured = mustBeSound(`${scenario.name} window`, await scenario.measure(), { answersOnly: true });
      const after = mustBeSound(`${baseline.name} window`, await baseline.measure());
      windows.get(scenario).push({ ...measured, baseline: (before.rps + after.rps) / 2 });
      baselineWindows.push(after);
      before = after;
    }
  }
  const rates = baselineWindows.map((window) => window.rps.toFixed(0)).join(', ');
  console.log(`    baseline ${baseline.name}: ${rates}`);
  return Object.fromEntries(scenarios.map((scenario) => [scenario.name, combine(scenario, windows.get(scenario), baselineWindows)]));
}

/**
 * A window that measured nothing, or a baseline that answered anything but 2xx, would make
 * a ratio of nothing (a dead bare Koa would have every ratio pass): the run stops there.
 * A scenario's own non-2xx answers are counted and reported, and fail the run at its end.
 */
export function mustBeSound(what, window, { answersOnly = false } = {}) {
  if (!(window.rps > 0)) throw new Error(`${what} measured nothing`);
  if (!answersOnly && (window.non2xx ?? 0) + (window.errors ?? 0) > 0) throw new Error(`${what} had ${window.non2xx} non-2xx answers and ${window.errors} errors`);
  return window;
}

/**
 * One scenario's windows as one result: rates averaged (the windows are equally long),
 * every answer's latency pooled; with `baselineWindows`, the ratio to the baseline.
 */
export function combine(scenario, windows, baselineWindows) {
  const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const count = (field) => windows.reduce((sum, window) => sum + window[field], 0);
  const result = {
    rps: mean(windows.map((window) => window.rps)),
    ...percentiles(windows.flatMap((window) => window.latencies)),
    non2xx: count('non2xx') + scenario.warmup.non2xx,
    non2xxStatuses: tally([...windows, scenario.warmup].map((window) => window.non2xxStatuses)),
    errors: count('errors') + scenario.warmup.errors,
    total: count('total'),
    warmupRequests: scenario.warmup.requests,
    warmupRps: scenario.warmup.rps,
    // Each window's own, beside the pooled ones: a slow window raises the pooled p99 alone.
    windowPercentiles: windows.map((window) => percentiles([...window.latencies])),
  };
  let ratio = '';
  if (baselineWindows) {
    result.baseline = mean(windows.map((window) => window.baseline));
    result.ratio = result.rps / result.baseline;
    result.windowRatios = windows.map((window) => window.rps / window.baseline);
    result.baselineWindows = baselineWindows.map(({ latencies, ...window }) => (latencies ? { ...window, ...percentiles(latencies) } : window));
    ratio = `, ratio ${result.ratio.toFixed(2)} (windows ${result.windowRatios.map((r) => r.toFixed(2)).join(', ')})`;
  }
  console.log(`  ${scenario.name}: ${result.rps.toFixed(0)} req/s${ratio}, p50 ${result.p50} ms, p99 ${result.p99} ms, non-2xx ${result.non2xx}${statusesOf(result)}, errors ${result.errors}`);
  return result;
}

/**
 * Windows that ran at the same time, one per load (two instances sharing the traffic), as
 * one result: their rates added, every answer's latency pooled, their counts (warm-ups
 * included) added.
 */
export function together(loads, windows) {
  const parts = loads.map((load, i) => combine(load, [windows[i]]));
  const sum = (field) => parts.reduce((total, part) => total + part[field], 0);
  return {
    rps: sum('rps'),
    ...percentiles(windows.flatMap((window) => window.latencies)),
    non2xx: sum('non2xx'),
    non2xxStatuses: tally(parts.map((part) => part.non2xxStatuses)),
    errors: sum('errors'),
    total: sum('total'),
  };
}

export function percentiles(latencies) {
  const sorted = latencies.sort((a, b) => a - b);
  const at = (p) => Number((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0).toFixed(2));
  return { p50: at(50), p99: at(99) };
}

/** An autocannon run's non-2xx answers by status (`{ 429: 1 }`): what a failed run was told. */
export function non2xxStatuses(run) {
  return Object.fromEntries(Object.entries(run.statusCodeStats ?? {}).filter(([status]) => !status.startsWith('2')).map(([status, { count }]) => [status, count]));
}

export function tally(countsByStatus) {
  const total = {};
  for (const counts of countsByStatus) for (const [status, count] of Object.entries(counts)) total[status] = (total[status] ?? 0) + count;
  return total;
}

export const statusesOf = ({ non2xxStatuses: counts }) => {
  const entries = Object.entries(counts);
  return entries.length === 0 ? '' : ` (${entries.map(([status, count]) => `${status} ×${count}`).join(', ')})`;
};

/** Issue 5's targets: each scenario's least ratio to its baseline, and `me`'s p99 over its p50 at most. */
export const TARGETS = { login: 0.85, refresh: 0.5, me: 0.5, jwks: 0.8 };
export const MAX_ME_TAIL = 5;

/** Whether a ratio meets its scenario's target; a miss by a hair (0.849 for 0.85) is a miss. */
export const meetsTarget = (scenario, ratio) => ratio >= TARGETS[scenario];
export const tailMeetsTarget = (p99OverP50) => p99OverP50 <= MAX_ME_TAIL;

/** A window's p99 over its p50: `me`'s tail (target ≤ 5), and bare Koa's beside it. */
export const tailRatio = ({ p50, p99 }) => p99 / Math.max(p50, 0.001);

/**
 * While warming up, the last 1 s round still beats every earlier one by more than 5 %: the
 * load is still getting faster (code being optimized, connections opening).
 */
export function stillClimbing(rates) {
  const last = rates.at(-1);
  return rates.slice(0, -1).every((earlier) => last > 1.05 * earlier);
}

/**
 * The accounts one login connection logs in as: every `connections`-th, so that no two
 * connections share one and no account ever has two logins in flight. With fewer accounts
 * than connections, one each, shared by at most ⌈connections / accounts⌉ connections;
 * a later run's connections (numbered on) take the same as the first run's.
 */
export function accountsOf(users, connections, client) {
  const slot = client % connections;
  const own = users.filter((_, i) => i % connections === slot);
  return own.length > 0 ? own : [users[slot % users.length]];
}

/**
 * The accounts in turn, for the mix's logins: picked at random, six of 16 logins in flight
 * landed on one account now and then, and the sixth was refused (429) as a guess racing
 * past the lock would be (SPEC §4). No user's own logins look like that.
 */
export function inTurn(items) {
  let next = 0;
  return () => items[next++ % items.length];
}

/** The results that make a run invalid: any scenario, on one instance or two, with a non-2xx answer or an error. */
export function invalidScenarios(results) {
  return results.flatMap((result) =>
    [...Object.entries(result.scenarios), ...Object.entries(result.twoInstances ?? {})]
      .filter(([, scenario]) => scenario.non2xx + scenario.errors > 0)
      .map(([name]) => `${result.shape}: ${name}`),
  );
}
