import type { Router } from '@koa/router';
import { API_PREFIX } from '../paths.js';

/** Named readiness probes: each resolves when its dependency answers. */
export type ReadinessChecks = Record<string, () => Promise<void>>;

const PROBE_TIMEOUT_MS = 2_000;

/** `/health` says the process lives; `/ready` that every store it needs answers. */
export function healthRoutes(router: Router, checks: ReadinessChecks): void {
  const health = (ctx: { body: unknown }) => {
    ctx.body = { status: 'ok' };
  };
  const ready = async (ctx: { body: unknown; status: number }) => {
    const results = await Promise.all(Object.entries(checks).map(async ([name, probe]) => [name, await answers(probe)] as const));
    if (results.every(([, ok]) => ok)) {
      ctx.body = { status: 'ok' };
      return;
    }
    ctx.status = 503;
    ctx.body = { status: 'unavailable', checks: Object.fromEntries(results.map(([name, ok]) => [name, ok ? 'ok' : 'unavailable'])) };
  };
  router.get('/health', health).get(`${API_PREFIX}/health`, health);
  router.get('/ready', ready).get(`${API_PREFIX}/ready`, ready);
}

async function answers(probe: () => Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('probe timed out')), PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
