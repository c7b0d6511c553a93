/**
 * The stack's outputs, resolved to local values: an output that names an HTTP API's execute-api host names
 * that API's local URL instead. An output that cannot be resolved locally is left out.
 */
import { type IntrinsicContext, resolveString, UnresolvableError } from './intrinsics';
import { resourcesOfType } from './template';

/** `apiUrls`: the local URL of each HTTP API, by logical id. */
export function resolveOutputs(
  ctx: IntrinsicContext,
  apiUrls: ReadonlyMap<string, string>,
): Record<string, string> {
  const apiHosts = resourcesOfType(ctx.template, 'AWS::ApiGatewayV2::Api').flatMap(([id]) => {
    const url = apiUrls.get(id);
    const host = `https://${ctx.resources.get(id)!.ref}.execute-api.${ctx.region}.amazonaws.com`;
    return url === undefined ? [] : [[host, url] as const];
  });
  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries(ctx.template.Outputs ?? {})) {
    try {
      let value = resolveString(output.Value, ctx, `output ${name}`);
      for (const [host, url] of apiHosts) value = value.replace(host, url);
      outputs[name] = value;
    } catch (error) {
      if (!(error instanceof UnresolvableError)) throw error;
    }
  }
  return outputs;
}
