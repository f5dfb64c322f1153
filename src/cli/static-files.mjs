// A vite plugin that serves one directory read-only under a URL prefix. The
// dev server uses it for ../shared (/shared/) and the command line for the
// model folder it was given (/__model/).
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

const CONTENT_TYPES = {
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.tsv': 'text/tab-separated-values; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
};

/**
 * Maps the part of a URL after the prefix to a path inside `directory`, or
 * returns null when it is malformed or escapes the directory.
 */
export function resolveInside(directory, urlPath) {
  const pathname = urlPath.split(/[?#]/, 1)[0];
  let decoded;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const target = path.resolve(directory, '.' + path.posix.normalize('/' + decoded));
  const relative = path.relative(directory, target);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return null;
  return target;
}

function sendText(res, status, text) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text);
}

/**
 * Creates the connect middleware that serves files under `directory`. It
 * responds with 404 for anything that is not a regular file inside it (symbolic
 * links are followed only when they stay inside) and 405 for methods other
 * than GET and HEAD.
 */
export function directoryMiddleware(directory) {
  const root = path.resolve(directory);
  return async (req, res, next) => {
    // connect also strips a prefix followed by '.', as in /shared.txt: that is another path.
    if (!(req.url ?? '/').startsWith('/')) {
      next();
      return;
    }
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        sendText(res, 405, `${req.method} is not allowed here; this folder is read-only.`);
        return;
      }
      const target = resolveInside(root, req.url ?? '/');
      if (!target) {
        sendText(res, 404, 'Not found.');
        return;
      }
      let real;
      let info;
      try {
        real = await realpath(target);
        info = await stat(real);
      } catch {
        sendText(res, 404, `Not found: ${req.originalUrl ?? req.url}`);
        return;
      }
      const realRoot = await realpath(root);
      const relative = path.relative(realRoot, real);
      if (!info.isFile() || relative.startsWith('..') || path.isAbsolute(relative)) {
        sendText(res, 404, `Not found: ${req.originalUrl ?? req.url}`);
        return;
      }

      res.statusCode = 200;
      res.setHeader('Content-Type', CONTENT_TYPES[path.extname(real).toLowerCase()] ?? 'application/octet-stream');
      res.setHeader('Content-Length', String(info.size));
      res.setHeader('Cache-Control', 'no-cache');
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const stream = createReadStream(real);
      stream.on('error', (error) => {
        res.destroy(error);
      });
      stream.pipe(res);
    } catch (error) {
      next(error);
    }
  };
}

/** Vite plugin that serves `directory` read-only under `urlPrefix` (for example `/shared`) in dev and preview. */
export function serveDirectory({ name, urlPrefix, directory }) {
  const prefix = urlPrefix.replace(/\/+$/, '');
  const middleware = directoryMiddleware(directory);
  return {
    name,
    configureServer(server) {
      server.middlewares.use(prefix, middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(prefix, middleware);
    },
  };
}
