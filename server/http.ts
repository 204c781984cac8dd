/**
 * The HTTP server's manners, as BigchainDB's (Flask and Werkzeug) has them: upper-case
 * reason phrases, `{"status", "message"}` error bodies, open CORS, optional trailing
 * slashes, and request bodies read whatever their declared content type.
 */
import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, LogController } from 'fastify';
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
    routerOptions: { ignoreTrailingSlash: true },
    // A request that arrives while the node shuts down is refused with 503.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  // flask_cors's defaults: any origin, every method, the headers asked for.
  await app.register(cors, { origin: '*', methods: ['GET', 'HEAD', 'POST', 'OPTIONS', 'PUT', 'PATCH', 'DELETE'] });
  // BigchainDB reads a POST body as JSON whatever its content type (`get_json(force=True)`);
  // the route parses it, so that a body that is not JSON gets BigchainDB's answer.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.addHook('onSend', async (_request, reply) => {
    const phrase = REASON_PHRASES[reply.statusCode];
    if (phrase) reply.raw.statusMessage = phrase;
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, 404));
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
