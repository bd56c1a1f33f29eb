import { Router } from '@koa/router';
import Koa from 'koa';
import type { Deps } from '../../application/deps.js';
import type { Logger } from '../logging/logger.js';
import { requestContext } from './context.js';
import { errorHandler } from './error-handler.js';
import { exactRoutes } from './exact-routes.js';
import { accountRoutes } from './routes/account-routes.js';
import { adminRoutes } from './routes/admin-routes.js';
import { discoveryRoutes } from './routes/discovery-routes.js';
import type { DiscoveryOptions } from './routes/discovery-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import type { ReadinessChecks } from './routes/health-routes.js';
import { profileRoutes } from './routes/profile-routes.js';

export interface HttpOptions {
  deps: Deps;
  logger: Logger;
  trustedProxyHops: number;
  discovery: DiscoveryOptions;
  readiness: ReadinessChecks;
}

/** The Koa application: error handling first, then request tagging and standing headers, then the routes. */
export function createHttpApp(options: HttpOptions): Koa {
  const app = new Koa();
  // Errors are answered and logged by errorHandler; Koa's default printer would log twice.
  app.silent = true;

  // One flat router: nested prefix routers cost a match per level on every request.
  const router = new Router();
  accountRoutes(router, options.deps);
  profileRoutes(router, options.deps);
  adminRoutes(router, options.deps);
  discoveryRoutes(router, options.discovery);
  healthRoutes(router, options.readiness);

  app.use(errorHandler(options.logger));
  app.use(requestContext(options.logger, options.trustedProxyHops));
  app.use(exactRoutes(router));
  return app;
}
