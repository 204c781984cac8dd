/**
 * The HTTP server's manners, as BigchainDB's (Flask and Werkzeug) has them: upper-case
 * reason phrases, `{"status", "message"}` error bodies, open CORS, optional trailing
 * slashes, and request bodies read whatever their declared content type.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';

/**
 * Werkzeug's reason phrases, in upper case: the driver reports only the status line
 * (`404 NOT FOUND`), and its tests compare it.
 */
const REASON_PHRASES: Record<number, string> = {
  200: 'OK',
  202: 'ACCEPTED',
  204: 'NO CONTENT',
  400: 'BAD REQUEST',
  404: 'NOT FOUND',
  405: 'METHOD NOT ALLOWED',
  413: 'REQUEST ENTITY TOO LARGE',
  500: 'INTERNAL SERVER ERROR',
  503: 'SERVICE UNAVAILABLE',
};

/**
 * Answers with BigchainDB's `make_error` body.
 *
 * @example
 * return sendError(reply, 404);   // 404 NOT FOUND {"status": 404, "message": "Not found"}
 */
export function sendError(reply: FastifyReply, status: number, message?: string): FastifyReply {
  return reply.code(status).send({ status, message: message ?? (status === 404 ? 'Not found' : 'Error') });
}

/** flask_cors's default `methods`, as it sends them: sorted, upper case. */
const CORS_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'];

/**
 * The headers flask_cors (defaults: any origin, every method and header) adds to an answer:
 * the request's Origin echoed (with `Vary: Origin`), or `*` when it sent none; on a
 * preflight whose Access-Control-Request-Method is one of the methods, the methods and
 * the headers asked for too.
 */
function corsHeaders(request: FastifyRequest): Record<string, string> {
  const origin = request.headers.origin;
  const headers: Record<string, string> = { 'access-control-allow-origin': origin || '*' };
  if (origin) headers.vary = 'Origin';
  const asked = String(request.headers['access-control-request-method'] ?? '').toUpperCase();
  if (request.method === 'OPTIONS' && CORS_METHODS.includes(asked)) {
    const wanted = String(request.headers['access-control-request-headers'] ?? '').split(',').map((name) => name.trim()).filter(Boolean);
    if (wanted.length) headers['access-control-allow-headers'] = wanted.sort().join(', ');
    headers['access-control-allow-methods'] = CORS_METHODS.join(', ');
  }
  return headers;
}

/** Werkzeug's text for a route asked with a method it does not have (flask-restful sends it as `{"message"}`). */
const METHOD_NOT_ALLOWED = 'The method is not allowed for the requested URL.';

/**
 * The methods each route answers, to tell "no such path" (404) from "not with this method"
 * (405), and to answer OPTIONS as Flask does (200 with `Allow` on a route's path).
 */
class RouteMethods {
  readonly #routes: { pattern: RegExp; methods: Set<string> }[] = [];

  add(url: string, methods: readonly string[]): void {
    if (methods.includes('OPTIONS')) return;
    // `:name` is one path segment; the trailing slash is optional (ignoreTrailingSlash).
    const body = url.replace(/\/+$/, '').split(/(:[A-Za-z_]\w*)/).map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
    const source = `^${body}/?$`;
    let route = this.#routes.find((known) => known.pattern.source === source);
    if (!route) this.#routes.push((route = { pattern: new RegExp(source), methods: new Set() }));
    for (const method of methods) route.methods.add(method);
  }

  /** The methods some route answers at `url` (its path, the query left off), sorted; none for an unknown path. */
  allowed(url: string): string[] {
    const path = url.split('?')[0];
    const methods = new Set<string>();
    for (const route of this.#routes) if (route.pattern.test(path)) for (const method of route.methods) methods.add(method);
    if (methods.size === 0) return [];
    if (methods.has('GET')) methods.add('HEAD');
    methods.add('OPTIONS');
    return [...methods].sort();
  }
}

/** The longest path parameter routed: past any URL Node reads (its request line is under 16 KiB). */
const MAX_PARAM_LENGTH = 64 * 1024;

/** What the HTTP layer needs to be built. */
export interface HttpOptions {
  readonly logger: Logger;
  /** Largest request body accepted, in bytes; larger ones get 413. */
  readonly bodyLimit: number;
}

/**
 * A fastify instance with BigchainDB's manners and no routes yet.
 *
 * @example
 * const app = await createHttpServer({ logger, bodyLimit: 1 << 20 });
 * app.get('/api/v1/', ...);
 */
export async function createHttpServer(options: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is fastify's logger; the two packages type it apart.
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    // One log line per block is the node's record; a line per request would drown it.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    // Werkzeug takes a path parameter of any length (a block height with 200 leading zeros
    // is a height); fastify's default refuses one over 100 characters with 414.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // What fastify answers before any route runs: a URL that does not decode (`%zz`) names
    // nothing BigchainDB has (Werkzeug keeps the bad escape as it is), so 404 as for any
    // unknown id.
    frameworkErrors: (_error, request, reply) => {
      reply.headers(corsHeaders(request));
      reply.raw.statusMessage = REASON_PHRASES[404];
      return sendError(reply, 404);
    },
    // A request that arrives while the node shuts down is refused with 503.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const routes = new RouteMethods();
  app.addHook('onRoute', (route) => routes.add(route.url, ([] as string[]).concat(route.method)));
  // flask_cors wraps every answer, errors and 404s included.
  app.addHook('onRequest', async (request, reply) => {
    reply.headers(corsHeaders(request));
  });
  // Flask answers OPTIONS itself on every route's path (200, empty, `Allow`), and 404 elsewhere.
  app.options('*', async (request, reply) => {
    const allowed = routes.allowed(request.url);
    if (allowed.length === 0) return sendError(reply, 404);
    return reply.code(200).header('allow', allowed.join(', ')).send('');
  });
  // BigchainDB reads a POST body as JSON whatever its content type (`get_json(force=True)`);
  // the route parses it, so that a body that is not JSON gets BigchainDB's answer.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.addHook('onSend', async (_request, reply) => {
    const phrase = REASON_PHRASES[reply.statusCode];
    if (phrase) reply.raw.statusMessage = phrase;
  });
  app.setNotFoundHandler((request, reply) => {
    const allowed = routes.allowed(request.url);
    if (allowed.length === 0) return sendError(reply, 404);
    return reply.code(405).header('allow', allowed.join(', ')).send({ message: METHOD_NOT_ALLOWED });
  });
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string; body?: object }, request, reply) => {
    // An error that carries its own answer (a parameter error: reqparse's body).
    if (error.body && error.statusCode) return reply.code(error.statusCode).send(error.body);
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(reply, 413, `The request body is larger than this node accepts (${options.bodyLimit} bytes)`);
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      // The cause goes to the log, never to the client: no stack, no database detail.
      request.log.error({ err: error, method: request.method, url: request.url }, 'request failed');
      return sendError(reply, 500, 'Internal Server Error');
    }
    return sendError(reply, status, error.message);
  });
  return app;
}
