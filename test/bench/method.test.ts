import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { accountsOf, combine, interleaved, inTurn, invalidScenarios, meetsTarget, non2xxStatuses, percentiles, statusesOf, stillClimbing, tailMeetsTarget, tailRatio, tally, together } from '../../bench/method.mjs';

/** A load whose windows measure `rates` in turn, recording each window in `log`. */
function load(name: string, rates: number[], log: string[], window: object = {}) {
  let next = 0;
  return {
    name,
    warmup: { non2xx: 0, errors: 0, non2xxStatuses: {}, requests: 100, rps: [1] },
    measure: async () => {
      log.push(name);
      const rps = rates[next++] ?? 0;
      return { rps, latencies: [1, 2], non2xx: 0, errors: 0, non2xxStatuses: {}, total: 2, ...window };
    },
  };
}

beforeEach(() => {
  vi.spyOn(console, 'log').mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('interleaved windows', () => {
  it('measures each scenario window between two baseline windows, against their mean', async () => {
    const log: string[] = [];
    const baseline = load('baseline', [100, 200, 100, 200], log);
    const scenario = load('login', [75, 150, 75], log);

    const { login } = await interleaved(baseline, [scenario], 3);

    expect(log).toEqual(['baseline', 'login', 'baseline', 'login', 'baseline', 'login', 'baseline']);
    expect(login.windowRatios).toEqual([0.5, 1, 0.5]);
    expect(login.rps).toBe(100);
    expect(login.baseline).toBe(150);
    expect(login.ratio).toBeCloseTo(2 / 3, 10);
  });

  it('gives scenarios that share a baseline each the windows either side of their own', async () => {
    const log: string[] = [];
    const baseline = load('bare Koa', [100, 300, 500, 700, 900], log);
    const me = load('me', [100, 400], log);
    const jwks = load('jwks', [300, 800], log);

    const result = await interleaved(baseline, [me, jwks], 2);

    expect(log).toEqual(['bare Koa', 'me', 'bare Koa', 'jwks', 'bare Koa', 'me', 'bare Koa', 'jwks', 'bare Koa']);
    expect(result.me.windowRatios).toEqual([100 / 200, 400 / 600]);
    expect(result.jwks.windowRatios).toEqual([300 / 400, 800 / 800]);
  });

  it('stops the run at a baseline window that answered anything but 2xx, or measured nothing', async () => {
    const refused = load('bare Koa', [100, 100], [], { non2xx: 3 });
    await expect(interleaved(refused, [load('me', [50], [])], 1)).rejects.toThrow('bare Koa window had 3 non-2xx answers');
    const silent = load('bare Koa', [100, 0], []);
    await expect(interleaved(silent, [load('me', [50], [])], 1)).rejects.toThrow('bare Koa window measured nothing');
    const idle = load('me', [0], []);
    await expect(interleaved(load('bare Koa', [100, 100], []), [idle], 1)).rejects.toThrow('me window measured nothing');
  });

  it("counts a scenario's own non-2xx answers, its warm-up's included, by status, for the end of the run", async () => {
    const scenario = load('login', [50], [], { non2xx: 1, non2xxStatuses: { 429: 1 } });
    scenario.warmup = { ...scenario.warmup, non2xx: 2, non2xxStatuses: { 429: 1, 503: 1 } };

    const { login } = await interleaved(load('argon2id', [60, 60], []), [scenario], 1);

    expect(login.non2xx).toBe(3);
    expect(login.non2xxStatuses).toEqual({ 429: 2, 503: 1 });
    expect(statusesOf(login)).toBe(' (429 ×2, 503 ×1)');
    expect(invalidScenarios([{ shape: 'embedded', scenarios: { login } }])).toEqual(['embedded: login']);
  });
});

describe('two instances at once', () => {
  it('adds their rates and counts, warm-ups included, and reads percentiles off all their answers pooled', () => {
    const instance = (non2xx: number, statuses: Record<string, number>) => ({
      name: 'instance',
      warmup: { non2xx, errors: 0, non2xxStatuses: statuses, requests: 100, rps: [1] },
    });
    const window = (rps: number, latencies: number[], non2xx = 0) => ({ rps, latencies, non2xx, errors: 0, non2xxStatuses: non2xx ? { 503: non2xx } : {}, total: latencies.length });
    const fast = Array.from({ length: 90 }, () => 1);
    const slow = Array.from({ length: 10 }, () => 9);

    const both = together([instance(0, {}), instance(1, { 429: 1 })], [window(900, fast), window(100, slow, 2)]);

    expect(both.rps).toBe(1000);
    expect(both.total).toBe(100);
    // Pooled, p99 is the slow instance's; the larger of each one's own p50 would read 9 for p50 too.
    expect(both.p50).toBe(1);
    expect(both.p99).toBe(9);
    expect(both.non2xx).toBe(3);
    expect(both.non2xxStatuses).toEqual({ 429: 1, 503: 2 });
    expect(both.errors).toBe(0);
  });
});

describe('what makes a run invalid', () => {
  const clean = { non2xx: 0, errors: 0 };

  it('is any scenario with a non-2xx answer or an error, on one instance or two', () => {
    expect(invalidScenarios([{ shape: 'embedded', scenarios: { login: clean, me: clean } }])).toEqual([]);
    const results = [
      { shape: 'embedded', scenarios: { login: clean, me: { non2xx: 0, errors: 2 } } },
      { shape: 'PostgreSQL + Redis', scenarios: { login: clean }, twoInstances: { refresh: { non2xx: 1, errors: 0 }, me: clean } },
    ];
    expect(invalidScenarios(results)).toEqual(['embedded: me', 'PostgreSQL + Redis: refresh']);
  });

  it("reads the statuses of an autocannon run's non-2xx answers, and adds them up", () => {
    const run = { statusCodeStats: { 200: { count: 900 }, 201: { count: 3 }, 429: { count: 2 }, 503: { count: 1 } } };
    expect(non2xxStatuses(run)).toEqual({ 429: 2, 503: 1 });
    expect(non2xxStatuses({ statusCodeStats: { 200: { count: 5 } } })).toEqual({});
    expect(tally([{ 429: 2 }, {}, { 429: 1, 401: 4 }])).toEqual({ 429: 3, 401: 4 });
    expect(statusesOf({ non2xxStatuses: {} })).toBe('');
  });
});

describe('the login load', () => {
  const users = Array.from({ length: 64 }, (_, i) => `user-${i}`);

  it('gives each of 16 connections accounts of its own, all 64 between them', () => {
    const perConnection = Array.from({ length: 16 }, (_, client) => accountsOf(users, 16, client));
    expect(perConnection.every((accounts) => accounts.length === 4)).toBe(true);
    expect(new Set(perConnection.flat()).size).toBe(64);
    // A later run's connections are numbered on: the 17th takes the first one's accounts.
    expect(accountsOf(users, 16, 16)).toEqual(perConnection[0]);
  });

  it('gives each connection one account when there are fewer accounts than connections, the same in every run', () => {
    const four = users.slice(0, 4);
    expect(accountsOf(four, 16, 5)).toEqual(['user-1']);
    expect(accountsOf(four, 6, 4)).toEqual(['user-0']);
    expect(accountsOf(four, 6, 4 + 6)).toEqual(['user-0']);
  });

  it("takes the mix's accounts in turn, round and round", () => {
    const next = inTurn(['a', 'b', 'c']);
    expect([next(), next(), next(), next()]).toEqual(['a', 'b', 'c', 'a']);
  });
});

describe("issue 5's targets", () => {
  it('marks a ratio below its target as a miss, a hair below included', () => {
    expect(meetsTarget('login', 0.85)).toBe(true);
    expect(meetsTarget('login', 0.849)).toBe(false);
    expect(meetsTarget('refresh', 0.5)).toBe(true);
    expect(meetsTarget('me', 0.499)).toBe(false);
    expect(meetsTarget('jwks', 0.79)).toBe(false);
  });

  it("marks me's tail as a miss above 5 times its p50", () => {
    expect(tailMeetsTarget(5)).toBe(true);
    expect(tailMeetsTarget(5.01)).toBe(false);
  });
});

describe('warming up, percentiles and the tail', () => {
  it('goes on while the last round beats every earlier one by more than 5 %', () => {
    expect(stillClimbing([100, 200])).toBe(true);
    expect(stillClimbing([100, 150, 200])).toBe(true);
    expect(stillClimbing([100, 104])).toBe(false);
    expect(stillClimbing([100, 200, 150])).toBe(false);
  });

  it("reads p50 and p99 off every answer's own time, to the hundredth of a millisecond", () => {
    const latencies = Array.from({ length: 100 }, (_, i) => (i + 1) * 0.111);
    expect(percentiles(latencies)).toEqual({ p50: 5.66, p99: 11.1 });
    expect(percentiles([])).toEqual({ p50: 0, p99: 0 });
  });

  it("keeps each window's p50 and p99 beside those of all answers pooled, where a slow window makes the tail", () => {
    const scenario = { name: 'me', warmup: { non2xx: 0, errors: 0, non2xxStatuses: {}, requests: 100, rps: [1] } };
    const window = (latency: number, answers: number) => ({ rps: answers, latencies: Array.from({ length: answers }, () => latency), non2xx: 0, errors: 0, non2xxStatuses: {}, total: answers });

    const me = combine(scenario, [window(1, 150), window(10, 50)]);

    expect(me.windowPercentiles).toEqual([
      { p50: 1, p99: 1 },
      { p50: 10, p99: 10 },
    ]);
    expect(tailRatio(me)).toBe(10);
    expect(me.windowPercentiles.map(tailRatio)).toEqual([1, 1]);
  });

  it("takes me's tail as p99 over p50, never dividing by zero", () => {
    expect(tailRatio({ p50: 0.8, p99: 2 })).toBeCloseTo(2.5, 10);
    expect(tailRatio({ p50: 0, p99: 2 })).toBe(2000);
  });
});
