/**
 * Where each function's code is locally. A Node.js function runs from its asset folder, or from its inline code
 * (`Code.ZipFile`, which Lambda saves as index.js). Any other function (another runtime, code in an S3 bucket outside
 * the app) cannot run here: it gets a stand-in whose handler fails every invocation with an error that says so, so
 * that the rest of the app still starts, and it is listed at start as not emulated.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { resourcesOfType, type Template } from './template';

export interface FunctionCode {
  /** Absolute folder of the code of every function of the template, by logical id. */
  readonly codePaths: ReadonlyMap<string, string>;
  readonly notEmulated: readonly string[];
}

/** The error a stand-in's invocation fails with. */
export const NOT_EMULATED_ERROR = 'LocalRuntime.NotEmulated';

function standIn(dir: string, handler: string, message: string): void {
  const dot = handler.lastIndexOf('.');
  const file = `${dot > 0 ? handler.slice(0, dot) : 'index'}.js`;
  const exportName = dot > 0 ? handler.slice(dot + 1) : handler;
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(
    path.join(dir, file),
    `exports[${JSON.stringify(exportName)}] = async () => {\n` +
      `  throw Object.assign(new Error(${JSON.stringify(message)}), { name: ${JSON.stringify(NOT_EMULATED_ERROR)} });\n};\n`,
  );
}

/**
 * `assets`: the asset folder of each function that has one. `scratch`: a folder of this runtime for inline code and
 * stand-ins.
 */
export function functionCode(
  template: Template,
  assets: ReadonlyMap<string, string>,
  scratch: string,
): FunctionCode {
  const codePaths = new Map<string, string>();
  const notEmulated: string[] = [];
  for (const [id, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const props = fn.Properties ?? {};
    const runtime = typeof props.Runtime === 'string' ? props.Runtime : '';
    const handler = typeof props.Handler === 'string' ? props.Handler : 'index.handler';
    const inline = (props.Code as { ZipFile?: unknown } | undefined)?.ZipFile;
    const dir = path.join(scratch, id);
    if (!runtime.startsWith('nodejs')) {
      const why = `runtime ${runtime || '(a container image)'}: only Node.js functions run locally`;
      standIn(dir, handler, `function ${id} is not emulated (${why})`);
      notEmulated.push(`${id} (${why}; its invocations fail)`);
    } else if (assets.has(id)) {
      codePaths.set(id, assets.get(id)!);
      continue;
    } else if (typeof inline === 'string') {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'index.js'), inline);
    } else {
      const why = 'its code is not an asset of the app';
      standIn(dir, handler, `function ${id} is not emulated (${why})`);
      notEmulated.push(`${id} (${why}; its invocations fail)`);
    }
    codePaths.set(id, dir);
  }
  return { codePaths, notEmulated };
}
