/**
 * Structured logs of the server: fastify's pino logger writes one JSON object per line. Fastify's own pair of
 * request lines ("incoming request" + "request completed", without the route) is replaced by one line per request
 * carrying method, route pattern, status and duration; the embedded indexer's messages go through the same logger
 * (so `--quiet`, which turns the logger off, silences them too).
 */
import { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';

/** A LogController without fastify's per-request lines (requestLog() writes ours). */
export function quietRequestLogController(): LogController {
  return new LogController({ disableRequestLogging: true });
}

/** One `request` line per answered request: {method, route, url, status, duration_ms, reqId}. */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const fields = {
      method: request.method,
      route: request.routeOptions.url ?? null,
      url: request.url,
      status,
      duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
    };
    // 5xx are already logged with their error by the error handler; the request line itself stays at info.
    request.log.info(fields, 'request');
  });
}

/**
 * The embedded indexer's `log` callback: a JSON line with `component: "indexer"`, at warn level when the
 * message carries an error (failed passes, crashes), else info.
 */
export function indexerLog(logger: FastifyBaseLogger): (msg: string, fields?: Record<string, unknown>) => void {
  const log = logger.child({ component: 'indexer' });
  return (msg, fields) => {
    if (fields && 'error' in fields) log.warn(fields, msg);
    else log.info(fields ?? {}, msg);
  };
}
