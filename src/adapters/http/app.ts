import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router } from '@koa/router';
import Koa from 'koa';
import type { Deps } from '../../application/deps.js';
import type { Logger } from '../logging/logger.js';
import { requestContext } from './context.js';
import { errorHandler } from './error-handler.js';
import { exactRoutes } from './exact-routes.js';
import { publicDocuments } from './public-documents.js';
import type { DiscoveryOptions } from './public-documents.js';
import { accountRoutes } from './routes/account-routes.js';
import { adminRoutes } from './routes/admin-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import type { ReadinessChecks } from './routes/health-routes.js';
import { profileRoutes } from './routes/profile-routes.js';
import { standingHeaders } from './standing-headers.js';

export interface HttpOptions {
  deps: Deps;
  logger: Logger;
  trustedProxyHops: number;
  discovery: DiscoveryOptions;
  readiness: ReadinessChecks;
}

/** What the HTTP server calls for each request; a promise while a handler still runs. */
export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void> | undefined;

/** The public key documents, answered as they are; every other request goes to Koa. */
export function createHttpHandler(options: HttpOptions): RequestHandler {
  const standing = standingHeaders(options.discovery.issuer);
  const documents = publicDocuments(options.discovery, standing);
  const koa = koaApp(options, standing).callback();
  return (request, response) => (documents.answer(request, response) ? undefined : koa(request, response));
}

/** The Koa application: error handling first, then request tagging and standing headers, then the routes. */
function koaApp(options: HttpOptions, standing: Readonly<Record<string, string>>): Koa {
  const app = new Koa();
  // Errors are answered and logged by errorHandler; Koa's default printer would log twice.
  app.silent = true;

  // One flat router: nested prefix routers cost a match per level on every request.
  const router = new Router();
  accountRoutes(router, options.deps);
  profileRoutes(router, options.deps);
  adminRoutes(router, options.deps);
  healthRoutes(router, options.readiness);

  app.use(errorHandler(options.logger));
  app.use(requestContext(options.logger, options.trustedProxyHops, standing));
  app.use(exactRoutes(router));
  return app;
}
