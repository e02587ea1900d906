/**
 * The HTTP API (turbopuffer-compatible) over an Engine. This file only speaks HTTP: routing, body decoding
 * (JSON, gzip), authentication, error mapping. Every operation is the engine's.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { ElaxError, ERRORS, reusedBuffers } from '../crates-ts/core/index.js';
import { lendBytesFor, packedBufferIn } from '../crates-ts/schema/json-body.js';
import type { Engine } from '../crates-ts/engine/index.js';
import { checkReachable } from '../crates-ts/store/index.js';
import { ServerMetrics } from './metrics.js';
import { registerAdminRoutes, isAdminPath } from './admin-routes.js';
import { quietRequestLogController, registerRequestLog } from './logging.js';
import { clientErrorHandler, httpServerFactory, resolveHttpTimeouts, type HttpTimeouts } from './http-server.js';
import type { ClientErrorReason } from './client-errors.js';
import { InflightBudget, registerInflightBudget, defaultMaxInflightBytes, DEFAULT_MAX_INFLIGHT_REQUESTS } from './inflight.js';
import type { Socket } from 'node:net';
import { bodyTooLarge, DEFAULT_BODY_LIMIT, readJsonBody } from './json-body.js';
import type { TaskPool } from '../crates-ts/pool/index.js';
import { QueryLimiter, defaultMaxQueuedQueries, defaultMaxRunningQueries } from './query-admission.js';
import { DEFAULT_QUERY_TIMEOUT_MS, QUERY_TIMEOUT_HEADER, QueryDeadline, requestTimeoutMs } from './query-deadline.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { EDGE_AJV, edgeErrorFormatter } from './edge-errors.js';
import { jsonBody, listNamespacesQuery, nsParams, queryBody, metadataPatchBody, recallBody, schemaBody, writeBody } from './route-schemas.js';
import { registerOpenApi, registerOpenApiRoute } from './openapi.js';

export interface AppOptions {
  engine: Engine;
  /** Threads that parse large JSON bodies off the event loop (the engine's pool). Unset or 0 threads: parsed here. */
  pool?: TaskPool;
  /** Accepted API keys. Empty/undefined: authentication off. */
  apiKeys?: string[];
  /** Max request body in bytes after decompression. Default 512 MiB, turbopuffer's (never more than maxInflightBytes). */
  bodyLimit?: number;
  /** Headers / whole-request / idle / keep-alive timeouts (http-server.ts); unset fields take the defaults. */
  timeouts?: Partial<HttpTimeouts>;
  /** Node-wide cap on request body bytes in flight (inflight.ts). Default: a quarter of the V8 heap limit, at least bodyLimit. */
  maxInflightBytes?: number;
  /** Node-wide cap on requests in flight (inflight.ts). Default 1024. */
  maxInflightRequests?: number;
  logger?: boolean | object;
  /** Admin token for GET /admin/status and /metrics (see admin-routes.ts). Undefined/empty: admin endpoints off. */
  adminToken?: string;
  /** Metrics registry of this app (default: a new one, without WAL-append counts unless the engine was built with its engineHooks()). */
  metrics?: ServerMetrics;
  /** Default stall threshold of /admin/status, seconds (default 600). */
  stallAfterSeconds?: number;
  /**
   * Whether the store passed the start-up probe. Until it has, /readyz is 503 with the reason and API requests get
   * 503 ELAX_ERR_STORE_UNAVAILABLE with Retry-After (/health, /metrics and /admin still answer). Default: ready.
   */
  readiness?: () => { ready: boolean; reason: string };
  /** Queries executing at once (query-admission.ts). Default 2 per core. */
  maxRunningQueries?: number;
  /** Queries waiting for a slot before 429 ELAX_ERR_QUERY_QUEUE_FULL. Default 32 per running slot. */
  maxQueuedQueries?: number;
  /** A query's time budget, ms (query-deadline.ts); X-Elax-Query-Timeout-Ms may lower it. Default 30000. */
  queryTimeoutMs?: number;
  /** Tests: what a query's checkpoint between segments awaits (default one turn of the event loop). */
  queryPause?: (where: string, signal: AbortSignal) => Promise<void>;
  /** Tests: the clock deadlines are measured on, ms (default performance.now, monotonic). */
  queryNow?: () => number;
}


export function errorBody(message: string) {
  return { status: 'error', error: message };
}

export function buildApp(opts: AppOptions): FastifyInstance {
  const { engine } = opts;
  const requestedBodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const metrics = opts.metrics ?? new ServerMetrics();
  const budget = new InflightBudget(
    opts.maxInflightRequests ?? DEFAULT_MAX_INFLIGHT_REQUESTS,
    opts.maxInflightBytes ?? defaultMaxInflightBytes(requestedBodyLimit),
    (limit) => metrics.overloaded(limit),
  );
  const maxRunning = opts.maxRunningQueries ?? defaultMaxRunningQueries();
  const limiter = new QueryLimiter(maxRunning, opts.maxQueuedQueries ?? defaultMaxQueuedQueries(maxRunning), {
    rejected: () => metrics.queries.rejected(),
  });
  metrics.queries.setLimiter(limiter);
  const queryTimeoutMs = opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  if (!Number.isSafeInteger(queryTimeoutMs) || queryTimeoutMs < 1) throw new Error(`queryTimeoutMs must be a positive integer, got ${queryTimeoutMs}`);
  const queryPause = opts.queryPause ?? (() => nextTurn());
  const queryNow = opts.queryNow ?? (() => performance.now());
  // A body the in-flight budget could never hold is a 413, not a 503 to be retried forever.
  const bodyLimit = Math.min(requestedBodyLimit, budget.maxBytes);
  const timeouts = resolveHttpTimeouts(opts.timeouts);
  const onClientError = (reason: ClientErrorReason, socket: Socket) => {
    metrics.clientError(reason);
    app.log.info({ reason, remote: socket.remoteAddress }, 'client error: answered and closed');
  };
  const app = Fastify({
    // Our own http.Server: fastify's defaults would leave stalled clients connected forever (http-server.ts).
    serverFactory: httpServerFactory(timeouts, onClientError),
    clientErrorHandler: clientErrorHandler(onClientError),
    logger: opts.logger ?? false,
    // One JSON line per request (logging.ts) instead of fastify's two lines without the route.
    logController: quietRequestLogController(),
    bodyLimit,
    // Namespace names may be 128 characters; fastify's default (100) would answer an opaque 414 before our
    // validation can name the problem.
    routerOptions: { maxParamLength: 1024 },
    // While closing, fastify would answer its own 503 without our JSON, code or Retry-After: we answer instead.
    return503OnClosing: false,
    // Route schemas (route-schemas.ts) validate bodies as sent (no coercion, no defaults) and fail with the engine's
    // code and message (edge-errors.ts).
    ajv: EDGE_AJV,
    schemaErrorFormatter: edgeErrorFormatter('ELAX_ERR_INVALID_REQUEST'),
  });
  // Before any route: the OpenAPI document is built from the routes registered after it.
  registerOpenApi(app);
  let closing = false;
  app.addHook('onClose', async () => {
    closing = true;
    metrics.queries.close();
  });
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request) => {
    if (!closing) return;
    const route = request.url.split('?')[0] ?? '';
    if (route === '/health') return;
    throw new ElaxError('ELAX_ERR_CLOSED', 'the server is shutting down; retry on another node', { retryAfter: 1 });
  });

  // gzip request bodies (the official client sends them with compression: true).
  app.addHook('preParsing', async (request: FastifyRequest, _reply: FastifyReply, payload: Readable) => {
    const enc = request.headers['content-encoding'];
    if (!enc || enc === 'identity') return payload;
    if (enc !== 'gzip') throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `unsupported Content-Encoding '${enc}': use gzip or none`);
    // Fastify matches Content-Length against `receivedEncodedLength` of the stream we hand back.
    const gunzip = createGunzip() as ReturnType<typeof createGunzip> & { receivedEncodedLength: number };
    gunzip.receivedEncodedLength = 0;
    payload.on('data', (c: Buffer) => (gunzip.receivedEncodedLength += c.length));
    payload.pipe(gunzip);
    return gunzip;
  });

  // Empty POST bodies are allowed (e.g. recall with defaults); JSON only.
  app.removeContentTypeParser('application/json');
  // Only JSON bodies: a text/plain body would otherwise be parsed as a string and get a misleading 400.
  app.removeContentTypeParser('text/plain');
  // Read into one buffer, not fastify's chunks + concatenation (json-body.ts): a 512 MiB body is held twice, not thrice.
  // Large bodies (writes) are parsed on the engine's pool threads, not on the event loop (json-body.ts OFFLOAD_*).
  // Copied to the thread, not moved: a task the pool fails is run again here, on the same bytes.
  const pool = opts.pool;
  // The body's vectors are packed into a buffer lent from reusedBuffers (schema/json-body.ts packVectors), which comes
  // back once the parsed body's views of it are collected (core/reused-buffers.ts settleLent).
  const offload =
    pool && pool.threads > 0
      ? async (bytes: Buffer, length: number) => {
          const lend = lendBytesFor(bytes, length);
          if (!reusedBuffers.reuses(lend)) return pool.run('json-parse', { bytes, length });
          const into = reusedBuffers.acquire(lend);
          let value: unknown;
          try {
            value = await pool.run('json-parse', { bytes, length, into });
          } catch (e) {
            reusedBuffers.release(into); // an error answers with no view of it
            throw e;
          }
          reusedBuffers.settleLent(into, packedBufferIn(value));
          return value;
        }
      : undefined;
  app.addContentTypeParser('application/json', (req, payload, done) => readJsonBody(payload, req.headers, bodyLimit, done, offload));

  const readiness = opts.readiness;
  if (readiness) {
    app.addHook('onRequest', async (request) => {
      const r = readiness();
      if (r.ready) return;
      const route = request.url.split('?')[0] ?? '';
      if (route === '/health' || route === '/readyz' || route === '/metrics' || route.startsWith('/admin/')) return;
      throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `the server is not ready: ${r.reason}`, { retryAfter: 2 });
    });
  }

  const keys = new Set(opts.apiKeys ?? []);
  if (keys.size > 0) {
    app.addHook('onRequest', async (request) => {
      const route = request.url.split('?')[0];
      if (route === '/health' || route === '/readyz' || isAdminPath(route ?? '', !!opts.adminToken)) return;
      // A bearer token decides when there is one; X-Api-Key is for clients and proxies that cannot set one.
      const auth = request.headers.authorization ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : (request.headers['x-api-key'] as string | undefined);
      if (!token || !keys.has(token)) {
        throw new ElaxError('ELAX_ERR_UNAUTHORIZED', token ? 'invalid API key' : 'missing API key: send Authorization: Bearer <key> or X-Api-Key: <key>');
      }
    });
  }
  // After the API-key check (a stranger gets 401, not 503) and the gzip hook (decompressed bytes are counted).
  registerInflightBudget(app, budget, bodyLimit);
  // A write that is the only request in flight has no company to wait for in the group-commit window
  // (write/coordinator.ts alone): /health and the other exempt routes are not counted, anything else is.
  opts.engine.writer.alone = () => budget.requests <= 1;

  app.setErrorHandler((err: unknown, request, reply) => {
    if (err instanceof ElaxError) {
      if (err.retryAfter !== undefined) reply.header('Retry-After', String(err.retryAfter));
      // A query over its deadline is load, not a fault: one warn line with the message, no stack.
      if (err.code === 'ELAX_ERR_QUERY_TIMEOUT') request.log.warn({ code: err.code, reason: err.message }, 'query timed out');
      else if (err.status >= 500) request.log.error({ err }, 'request failed');
      return reply.code(err.status).send({ ...errorBody(err.message), code: err.code });
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ ...errorBody(bodyTooLarge(bodyLimit).message), code: 'ELAX_ERR_PAYLOAD_TOO_LARGE' });
    }
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send({ ...errorBody(`unsupported Content-Type '${request.headers['content-type']}': send application/json`), code: 'ELAX_ERR_INVALID_REQUEST' });
    }
    if (e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR') {
      return reply.code(400).send({ ...errorBody('request body is not valid gzip'), code: 'ELAX_ERR_INVALID_REQUEST' });
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.code(e.statusCode).send({ ...errorBody(e.message ?? 'bad request'), code: 'ELAX_ERR_INVALID_REQUEST' });
    }
    request.log.error({ err }, 'unexpected error');
    return reply.code(500).send({ ...errorBody(`internal error: ${e.message ?? String(err)}`), code: 'ELAX_ERR_INTERNAL' });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ ...errorBody(`no route ${request.method} ${request.url.split('?')[0]}`), code: 'ELAX_ERR_NOT_FOUND' });
  });

  metrics.setSources({ engine, inflight: budget });
  metrics.instrument(app);
  registerRequestLog(app);
  registerAdminRoutes(app, { engine, metrics, adminToken: opts.adminToken, stallAfterSeconds: opts.stallAfterSeconds });

  type NsParams = { Params: { ns: string }; Querystring: Record<string, string | undefined> };

  // Route schemas (route-schemas.ts): validated before the handler, published at /openapi.json.
  const invalidRequest = edgeErrorFormatter('ELAX_ERR_INVALID_REQUEST');
  const invalidQuery = edgeErrorFormatter('ELAX_ERR_INVALID_QUERY');
  const nsRoute = (description: string) => ({ schema: { description, params: nsParams } });
  const queryHeaders = {
    type: 'object',
    properties: { [QUERY_TIMEOUT_HEADER]: { type: 'string', description: 'a shorter time budget for this query, ms (positive integer)' } },
  };
  const queryRoute = (description: string) => ({
    schema: { description, params: nsParams, headers: queryHeaders, body: jsonBody(queryBody) },
    schemaErrorFormatter: invalidQuery,
  });

  registerOpenApiRoute(app);
  app.get('/health', { schema: { description: '200 while the process runs' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { description: '200 if the object store answers a LIST, else 503' } }, async (_req, reply) => {
    const r = readiness?.();
    if (r && !r.ready) {
      reply.header('Retry-After', '2');
      return reply.code(503).send({ ...errorBody(`not ready: ${r.reason}`), code: 'ELAX_ERR_STORE_UNAVAILABLE' });
    }
    try {
      await checkReachable(engine.store);
      return { status: 'ok', store: engine.store.description };
    } catch (e) {
      return reply.code(503).send({ ...errorBody(`store ${engine.store.description} is not reachable: ${(e as Error).message}`), code: 'ELAX_ERR_STORE_UNAVAILABLE' });
    }
  });

  const writeRoute = {
    schema: {
      description: 'write: upserts, patches, deletes, filter writes, schema changes; or branch/copy another namespace',
      params: nsParams,
      headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', description: 'a request whose key was already committed is acknowledged without writing again' } } },
      body: jsonBody(writeBody),
    },
    schemaErrorFormatter: invalidRequest,
  };
  app.post<NsParams>('/v2/namespaces/:ns', writeRoute, async (req) => {
    // The client's branchFrom / copyFrom overloads post {branch_from_namespace} / {copy_from_namespace} here
    // (?stainless_overload=… only names the overload): the engine recognises the body (RFC-0011).
    const key = req.headers['idempotency-key'];
    return engine.write(req.params.ns, req.body, { idempotencyKey: typeof key === 'string' && key ? key : undefined });
  });

  // Queries: admitted by the limiter (FIFO, 429 when full), under a deadline, stopped when their client leaves.
  const admitted = async (req: FastifyRequest<NsParams>, reply: FastifyReply, run: (deadline: QueryDeadline) => Promise<unknown>) => {
    const deadline = new QueryDeadline(requestTimeoutMs(req.headers[QUERY_TIMEOUT_HEADER], queryTimeoutMs), {
      now: queryNow,
      pause: queryPause,
      onStop: (reason, where) => metrics.queries.stopped(reason, where),
    });
    deadline.watch(reply.raw);
    try {
      let release;
      try {
        release = await limiter.acquire(deadline.signal);
      } catch (e) {
        if (deadline.signal.aborted && e === deadline.signal.reason) deadline.leftQueue();
        throw e;
      }
      let work: Promise<unknown>;
      try {
        deadline.check('queue'); // the deadline may have passed in the very turn the slot came free
        work = run(deadline);
      } catch (e) {
        release();
        throw e;
      }
      // The slot is held until the work itself stops (at its next check); the client is answered at the deadline
      // even if the work is awaiting something that does not listen to the signal (a slow store read).
      void work.then(release, release);
      return await untilAborted(work, deadline.signal);
    } finally {
      deadline.dispose();
    }
  };
  app.post<NsParams>('/v2/namespaces/:ns/query', queryRoute('query, or multi-query (a body with queries; ?stainless_overload=multiQuery)'), async (req, reply) => {
    const body = req.body as Record<string, unknown> | undefined;
    const multi = req.query.stainless_overload === 'multiQuery' || (body && typeof body === 'object' && 'queries' in body);
    return admitted(req, reply, (d) => (multi ? engine.multiQuery(req.params.ns, body, d) : engine.query(req.params.ns, body, d)));
  });
  // The plan of a query in words (RFC-0009 §4): admitted like a query, since its lookups and counts read the parts.
  app.post<NsParams>('/v2/namespaces/:ns/explain_query', queryRoute('the plan of a query, in words'), async (req, reply) => admitted(req, reply, (d) => engine.explainQuery(req.params.ns, req.body, d)));

  app.get<{ Querystring: { prefix?: string; cursor?: string; page_size?: string } }>('/v1/namespaces', { schema: { description: 'list namespaces in name order', querystring: listNamespacesQuery } }, async (req) => {
    const ps = req.query.page_size;
    const pageSize = ps === undefined ? undefined : Number(ps);
    if (pageSize !== undefined && !Number.isFinite(pageSize)) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `page_size must be a number, got '${ps}'`);
    return engine.listNamespaces({ prefix: req.query.prefix, cursor: req.query.cursor, pageSize });
  });

  app.get<NsParams>('/v2/namespaces/:ns/metadata', nsRoute('row count, bytes, times, schema, index status'), async (req) => engine.metadata(req.params.ns));
  app.get<NsParams>('/v1/namespaces/:ns/metadata', nsRoute('same as /v2/namespaces/:ns/metadata'), async (req) => engine.metadata(req.params.ns));
  app.patch<NsParams>(
    '/v1/namespaces/:ns/metadata',
    { schema: { description: 'pin or unpin the namespace; returns its metadata', params: nsParams, body: jsonBody(metadataPatchBody) }, schemaErrorFormatter: invalidRequest },
    async (req) => engine.updateMetadata(req.params.ns, req.body),
  );
  app.get<NsParams>('/v1/namespaces/:ns/schema', nsRoute('the schema, every option set'), async (req) => engine.schema(req.params.ns));
  app.post<NsParams>(
    '/v1/namespaces/:ns/schema',
    { schema: { description: 'add attributes or change options; returns the schema', params: nsParams, body: jsonBody(schemaBody) }, schemaErrorFormatter: invalidRequest },
    async (req) => engine.updateSchema(req.params.ns, req.body),
  );
  app.delete<NsParams>('/v2/namespaces/:ns', nsRoute('delete the namespace'), async (req) => engine.deleteNamespace(req.params.ns));
  app.get<NsParams>('/v1/namespaces/:ns/hint_cache_warm', nsRoute("load the namespace into this node's cache"), async (req) => engine.warmCache(req.params.ns));
  app.post<NsParams>(
    '/v1/namespaces/:ns/_debug/recall',
    { schema: { description: 'ANN recall against exact kNN on sampled vectors', params: nsParams, body: jsonBody(recallBody) }, schemaErrorFormatter: invalidRequest },
    async (req) => engine.recall(req.params.ns, req.body),
  );

  return app;
}

/** `work`'s outcome, or the signal's reason as soon as it aborts (`work` then goes on until it notices). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** The catalogue of error codes, for docs and tests. */
export const ERROR_CODES = Object.keys(ERRORS);
