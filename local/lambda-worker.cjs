/**
 * One Lambda execution environment: a child process (forked by lambda-pool.ts, with an IPC channel) that
 * loads a function's bundle with its own `process.env`, then runs one invocation at a time, as Lambda
 * does. The pool owns timeouts: it kills an environment whose invocation runs too long. The message types
 * are in lambda-protocol.ts; the WorkerInit comes as the first argument, in JSON.
 *
 * Plain JavaScript, so that an environment starts with no TypeScript loader: it runs the bundle as the
 * Lambda Node.js runtime does, and starts faster.
 */
const { createRequire, enableCompileCache, flushCompileCache } = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

/** @param {unknown} error */
function toLambdaError(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name || 'Error',
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    };
  }
  return { errorType: 'Error', errorMessage: String(error) };
}

/** @param {import('./lambda-protocol').WorkerInit} init */
async function loadHandler(init) {
  const dot = init.handler.lastIndexOf('.');
  const modulePath = path.join(init.codePath, init.handler.slice(0, dot));
  const exportName = init.handler.slice(dot + 1);
  let mod;
  try {
    mod = createRequire(path.join(init.codePath, 'noop.js'))(modulePath);
  } catch (error) {
    if (error.code !== 'ERR_REQUIRE_ESM' && error.code !== 'MODULE_NOT_FOUND') throw error;
    mod = await import(pathToFileURL(`${modulePath}.mjs`).href);
  }
  const handler = mod[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${init.handler} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  }
  return handler;
}

/**
 * @param {import('./lambda-protocol').WorkerInit} init
 * @param {import('./lambda-protocol').InvokeRequest} request
 */
function context(init, request) {
  return {
    functionName: init.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: init.functionArn,
    memoryLimitInMB: String(init.memorySize),
    awsRequestId: request.requestId,
    logGroupName: init.logGroupName,
    logStreamName: `local/${init.functionName}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, request.deadline - Date.now()),
  };
}

/** Callback-style handlers take three parameters; async ones return a promise. */
function run(handler, event, ctx) {
  if (handler.length >= 3) {
    return new Promise((resolve, reject) => {
      const maybe = handler(event, ctx, (error, result) => (error ? reject(error) : resolve(result)));
      if (maybe && typeof maybe.then === 'function') maybe.then(resolve, reject);
    });
  }
  return Promise.resolve().then(() => handler(event, ctx));
}

async function main() {
  const port = {
    postMessage: (message) => process.send(message),
    on: (event, listener) => process.on(event, listener),
  };
  // An environment never outlives the runtime: the channel closes when the runtime exits, however it exits.
  process.on('disconnect', () => process.exit(0));
  /** @type {import('./lambda-protocol').WorkerInit} */
  const init = JSON.parse(process.argv[2]);
  if (process.env.NODE_OPTIONS?.includes('--enable-source-maps')) process.setSourceMapsEnabled(true);
  // Node's compile cache (V8 code caches on disk, in the OS temp folder): every environment of a bundle after the
  // first skips most of its compile, some 45 of the 190 ms of CPU a 600 KB bundle's require takes, and a test run
  // starts hundreds. Lambda keeps no such cache: the local cold start is that much shorter than a real one (the
  // benchmark's init figures load the bundles in processes of their own, without it). Flushed at once: the pool
  // kills environments, and a killed process would write nothing at exit.
  enableCompileCache?.();
  let handler;
  try {
    handler = await loadHandler(init);
    flushCompileCache?.();
  } catch (error) {
    port.postMessage({ type: 'init-error', error: toLambdaError(error) });
    return;
  }
  port.on('message', (request) => {
    run(handler, request.event, context(init, request)).then(
      // Lambda returns its result as JSON: what does not survive JSON does not reach the caller.
      (result) =>
        port.postMessage({
          type: 'result',
          id: request.id,
          result: result === undefined ? null : JSON.parse(JSON.stringify(result)),
        }),
      (error) => port.postMessage({ type: 'error', id: request.id, error: toLambdaError(error) }),
    );
  });
  port.postMessage({ type: 'ready' });
}

if (process.send) void main();
