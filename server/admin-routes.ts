/**
 * The admin surface of the HTTP server: GET /admin/status and GET /metrics, and their authentication.
 *
 * Authentication (docs/api.md "Admin endpoints"):
 *  - /admin/* needs the admin token (`Authorization: Bearer <token>`, token from ELAX_ADMIN_TOKEN or the
 *    adminToken option), never an API key: API keys are for tenants, the admin view spans every namespace. Without a
 *    configured admin token the admin endpoints answer 404 with a message saying how to enable them.
 *  - /metrics needs the admin token when one is configured (Prometheus sends it as a bearer token); otherwise it
 *    falls under the API keys like any other route (open when there are none).
 * The API-key hook in app.ts skips exactly these paths (isAdminPath).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ElaxError } from '../crates-ts/core/index.js';
import type { Engine } from '../crates-ts/engine/index.js';
import { statusAll, DEFAULT_STALL_AFTER_SECONDS } from './admin-status.js';
import type { ServerMetrics } from './metrics.js';
import { adminStatusQuery } from './route-schemas.js';

export const ADMIN_STATUS_PATH = '/admin/status';
export const METRICS_PATH = '/metrics';

export interface AdminRoutesOptions {
  engine: Engine;
  metrics: ServerMetrics;
  /** The admin token; undefined or empty: admin endpoints disabled, /metrics under the API keys. */
  adminToken?: string;
  /** Default stall threshold of /admin/status (seconds; `?stall_after=` overrides). Default 600. */
  stallAfterSeconds?: number;
}

/** Paths the API-key check must leave to this module (path without the query string). */
export function isAdminPath(path: string, adminTokenSet: boolean): boolean {
  return path.startsWith('/admin/') || (adminTokenSet && path === METRICS_PATH);
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Throws 401 unless the request carries `Authorization: Bearer <token>` (compared in constant time). */
function requireAdminToken(request: FastifyRequest, token: string): void {
  const auth = request.headers.authorization ?? '';
  const given = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
  if (!given) throw new ElaxError('ELAX_ERR_UNAUTHORIZED', `missing admin token: send Authorization: Bearer <admin token> (the server's ELAX_ADMIN_TOKEN)`);
  if (!timingSafeEqual(digest(given), digest(token))) throw new ElaxError('ELAX_ERR_UNAUTHORIZED', 'invalid admin token');
}

export function registerAdminRoutes(app: FastifyInstance, opts: AdminRoutesOptions): void {
  const token = opts.adminToken || undefined;
  const defaultStall = opts.stallAfterSeconds ?? DEFAULT_STALL_AFTER_SECONDS;

  const status = { schema: { description: 'every namespace\'s WAL tail, parts and indexer health (admin token)', querystring: adminStatusQuery } };
  app.get<{ Querystring: { ns?: string; stall_after?: string } }>(ADMIN_STATUS_PATH, status, async (req, reply) => {
    if (!token) {
      throw new ElaxError(
        'ELAX_ERR_NOT_FOUND',
        'admin endpoints are disabled: start the server with ELAX_ADMIN_TOKEN=<token> in its environment (or the adminToken option) and send Authorization: Bearer <token>',
      );
    }
    requireAdminToken(req, token);
    const raw = req.query.stall_after;
    const stallAfterSeconds = raw === undefined ? defaultStall : Number(raw);
    if (!Number.isFinite(stallAfterSeconds) || stallAfterSeconds < 0) {
      throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `stall_after must be a non-negative number of seconds, got '${raw}'`);
    }
    const now = Date.now();
    const namespaces = await statusAll(opts.engine.store, req.query.ns || undefined, { now, stallAfterSeconds });
    reply.header('cache-control', 'no-store');
    return { generated_at: new Date(now).toISOString(), stall_after_seconds: stallAfterSeconds, store: opts.engine.store.description, namespaces };
  });

  app.get(METRICS_PATH, { schema: { description: 'Prometheus metrics (text format)' } }, async (req, reply) => {
    if (token) requireAdminToken(req, token);
    const text = await opts.metrics.render();
    return reply.header('content-type', opts.metrics.contentType).header('cache-control', 'no-store').send(text);
  });
}
